"""An answer that Telegram could not take at once still reaches the person, through the outbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from storage.models import OutboxMessage
from storage.uow import UnitOfWork
from tests.e2e.telegram_harness import bot_in_process, emulator_running
from tests.e2e.test_telegram_prefiling import register, tap
from tests.emulator import message_text


async def test_a_reply_refused_by_a_bad_gateway_arrives_from_the_outbox(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with (
        emulator_running() as emulator,
        bot_in_process(emulator, database_url, tmp_path, clock) as runtime,
    ):
        user = emulator.user(1001)
        await register(user)
        emulator.fail_next("sendMessage", status=502, count=2)
        user.send_text("/new")
        # Refused directly and queued; refused once more by the dispatcher's first try...
        assert await outbox_becomes(runtime, [("1001", "pending", 1)])
        await user.assert_no_new_messages()
        # ...and sent by its retry, which falls due a moment later.
        clock.advance(timedelta(seconds=30))
        [reply] = await user.wait_for_messages(1, timeout=15)
        assert "开始新建容错报备" in message_text(reply)
        assert await outbox_becomes(runtime, [("1001", "sent", 2)])
        # Nothing was lost on the way: the pre-filing goes on from the question now on screen.
        assert "请填写事项名称" in await tap(user, "个人报备")


async def outbox_becomes(
    runtime: Runtime, expected: list[tuple[str, str, int]]
) -> list[tuple[str, str, int]]:
    """The outbox rows as (chat, status, attempts) once they equal `expected`, or after 10 s."""
    rows: list[tuple[str, str, int]] = []
    for _ in range(100):
        async with UnitOfWork(runtime.database) as uow:
            found = (await uow.session.execute(select(OutboxMessage))).scalars().all()
        rows = [(r.chat_id, r.status, r.attempts) for r in found]
        if rows == expected:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"outbox is {rows}, expected {expected}")
