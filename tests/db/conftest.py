from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import Runtime, build_runtime
from storage.models import Filing
from storage.uow import UnitOfWork
from tests.db.talker import Talker


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path, clock: ManualClock) -> AsyncIterator[Runtime]:
    settings = load_settings(database_url=database_url, data_dir=tmp_path / "data")
    rt = await build_runtime(settings, clock)
    yield rt
    await rt.database.dispose()


@pytest.fixture
async def accepted(runtime: Runtime, clock: ManualClock) -> dict[str, Talker]:
    """A cadre's filing accepted by an officer of 嵩明; an officer of 安宁 stands by."""
    await runtime.admin.grant(2001, "officer", "530127", by="test")
    await runtime.admin.grant(2003, "officer", "530181", by="test")
    people = {
        "cadre": Talker(runtime, clock, "1001"),
        "officer": Talker(runtime, clock, "2001"),
        "foreign": Talker(runtime, clock, "2003"),
    }
    for key, name in (("cadre", "张三"), ("officer", "王纪"), ("foreign", "钱监")):
        await people[key].register(name=name)
    await people["cadre"].fill_prefiling()
    await people["cadre"].press("✅ 确认无误，提交报备")
    filing = await _first_filing(runtime)
    await people["officer"].text(f"/accept {filing.id}")  # type: ignore[attr-defined]
    await people["officer"].press("🟢 绿色：低风险，备案即可")
    await people["officer"].press("跳过")
    await people["officer"].press("✅ 确认受理")
    return people


async def _first_filing(runtime: Runtime) -> Filing:
    async with UnitOfWork(runtime.database) as uow:
        return (await uow.session.execute(select(Filing))).scalars().one()
