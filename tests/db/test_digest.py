"""Officers' group chats get one digest per window, never one message per filing, and never twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.services.digest import send_digests
from storage.models import OutboxMessage
from storage.uow import UnitOfWork
from tests.db.talker import Talker


async def group_rows(runtime: Runtime) -> list[OutboxMessage]:
    async with UnitOfWork(runtime.database) as uow:
        rows = (await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    return [r for r in rows if r.chat_id.startswith("-")]


async def test_one_digest_per_window_with_every_new_filing(runtime: Runtime, clock: ManualClock) -> None:
    print(
        await runtime.admin.configure_jurisdiction(
            "530127", group_chat_id="-1001", clear_group=False, lead_telegram_id=None, by="test"
        )
    )
    cadre = Talker(runtime, clock, "1001")
    await cadre.register()
    for title in ("第一个事项名称", "第二个事项名称"):
        clock.advance(timedelta(minutes=1))
        await cadre.fill_prefiling(title)
        await cadre.press("✅ 确认无误，提交报备")
    clock.advance(timedelta(minutes=2))  # past the grace period
    # Two processes ticking at once send one digest between them.
    sent = await asyncio.gather(*(send_digests(runtime.database, runtime.directory, clock) for _ in range(3)))
    assert sum(sent) == 1
    (digest,) = await group_rows(runtime)
    text = digest.payload["text"]
    assert "昆明市 / 嵩明县：过去几分钟新收到 2 件容错报备" in text
    assert "嵩明-2026-0001｜第一个事项名称" in text and "嵩明-2026-0002｜第二个事项名称" in text
    # Nothing new: no digest. One more filing: a digest with just that one.
    clock.advance(timedelta(minutes=5))
    assert await send_digests(runtime.database, runtime.directory, clock) == 0
    await cadre.fill_prefiling("第三个事项名称")
    await cadre.press("✅ 确认无误，提交报备")
    clock.advance(timedelta(minutes=5))
    assert await send_digests(runtime.database, runtime.directory, clock) == 1
    last = (await group_rows(runtime))[-1].payload["text"]
    assert "新收到 1 件" in last and "第三个事项名称" in last and "第一个事项名称" not in last


async def test_no_group_means_no_digest(runtime: Runtime, clock: ManualClock) -> None:
    cadre = Talker(runtime, clock, "1001")
    await cadre.register()
    await cadre.fill_prefiling()
    await cadre.press("✅ 确认无误，提交报备")
    assert await send_digests(runtime.database, runtime.directory, clock) == 0
    assert await group_rows(runtime) == []
