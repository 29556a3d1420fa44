"""A draft started on Telegram is finished in the web chat by the same person, through both real channels."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.channels.web import create_web_app
from bot.clock import ManualClock
from storage.models import Filing
from storage.uow import UnitOfWork
from tests.db.talker import DESCRIPTIONS
from tests.e2e.telegram_harness import bot_in_process, emulator_running
from tests.e2e.test_telegram_prefiling import register, say, tap
from tests.e2e.web_client import WebUser


async def test_a_telegram_draft_is_finished_on_the_web(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with (
        emulator_running() as emulator,
        bot_in_process(emulator, database_url, tmp_path, clock) as runtime,
    ):
        phone = emulator.user(1001)
        await register(phone)
        await say(phone, "/new")
        await tap(phone, "个人报备")
        await say(phone, "杨桥片区批而未供土地盘活项目")
        await tap(phone, "K1 推进项目建设")
        code = re.search(r"绑定码：(\d{8})", await say(phone, "/link"))
        assert code is not None

        app = create_web_app(
            runtime.conversations,
            runtime.database,
            runtime.clock,
            "secret",
            runtime.settings.data_dir / "uploads",
        )
        async with TestClient(TestServer(app)) as client:
            browser = WebUser(client)
            await client.get("/")
            await browser.post({"open": True})
            assert "绑定成功" in await browser.say(f"/link {code.group(1)}")
            listing = await browser.say("/drafts")
            assert "杨桥片区批而未供土地盘活项目" in listing
            resumed = await browser.press("▶ 继续填写")
            assert "继续容错报备" in resumed and "可能适用哪些容错情形" in resumed
            await browser.press("✅ 选好了（已选 2 项）")
            assert "请说明拟采取的具体做法" in await browser.say(DESCRIPTIONS["background"])

        async with UnitOfWork(runtime.database) as uow:
            (draft,) = (await uow.session.execute(select(Filing))).scalars().all()
        assert draft.answers["situations"] == ["S4", "S6"]
        assert draft.answers["background"] == DESCRIPTIONS["background"]
        # Back on the phone, /start continues from where the browser stopped.
        assert "请说明拟采取的具体做法" in await say(phone, "/start")
