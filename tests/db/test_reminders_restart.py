"""Restart safety: reminders live in rows, so whatever fell due while the program was down goes
out once at the next start, and a process that died holding a lease loses nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import Runtime, build_runtime
from bot.scheduler import build_scheduler
from storage.models import Filing, OutboxMessage
from storage.uow import UnitOfWork
from tests.db.reminder_helpers import Reminders, local
from tests.db.talker import Talker
from tests.db.test_rectification import create_item


async def outbox_texts(runtime: Runtime) -> list[str]:
    async with UnitOfWork(runtime.database) as uow:
        rows = (await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        return [r.payload["text"] for r in rows]


async def test_reminders_due_while_down_are_sent_once_after_start(
    runtime: Runtime, accepted: dict[str, Talker], clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    async with UnitOfWork(runtime.database) as uow:
        filing = (await uow.session.execute(select(Filing))).scalars().one()
    await create_item(accepted["officer"], filing.id, due="2026-12-18")
    before = len(await outbox_texts(runtime))
    await runtime.database.dispose()  # the program stops

    # Down from 23 November to 16 December: T-7 (9th) and T-3 (15th) fell due meanwhile.
    clock.set(local("2026-12-16 10:00"))
    settings = load_settings(database_url=database_url, data_dir=tmp_path / "data")
    restarted = await build_runtime(settings, clock)
    try:
        scheduler = build_scheduler([("reminders", restarted.reminder_tick().run, 3600)])
        scheduler.start()  # the first tick runs at start, not an interval later
        for _ in range(100):
            if len(await outbox_texts(restarted)) > before:
                break
            await asyncio.sleep(0.05)
        scheduler.shutdown(wait=False)
        sent = (await outbox_texts(restarted))[before:]
        # Only the latest of the missed points is worth a message: T-3, not T-7 as well.
        assert len(sent) == 1 and "还有 3 个工作日到期" in sent[0]
        statuses = {
            r.payload["label"]: r.status
            for r in await Reminders(restarted, clock).rows()
            if r.subject_type == "rectification_item"
        }
        assert statuses["T-7"] == "skipped" and statuses["T-3"] == "sent" and statuses["T-1"] == "pending"
    finally:
        await restarted.database.dispose()

    again = await build_runtime(settings, clock)  # and once more: nothing is sent twice
    try:
        report = await again.reminder_tick().run()
        assert report.finished == 0 and len(await outbox_texts(again)) == before + 1
    finally:
        await again.database.dispose()


async def test_a_lease_held_by_a_dead_process_expires_and_the_row_is_sent_once(
    runtime: Runtime, accepted: dict[str, Talker], clock: ManualClock
) -> None:
    async with UnitOfWork(runtime.database) as uow:
        filing = (await uow.session.execute(select(Filing))).scalars().one()
    await create_item(accepted["officer"], filing.id, due="2026-12-18")
    reminders = Reminders(runtime, clock)
    clock.set(local("2026-12-09 09:00"))
    async with UnitOfWork(runtime.database) as uow:  # a process claims the T-7 row, then dies
        (claimed,) = await uow.reminders.claim_due(
            owner="dead:1", now=clock.now(), lease=timedelta(minutes=2), limit=10
        )
        await uow.commit()
    assert claimed.payload["label"] == "T-7"
    assert await reminders.at("2026-12-09 09:01") == []  # still leased
    sent = await reminders.at("2026-12-09 09:02")  # the lease ran out: another tick takes it
    assert len(sent) == 1 and "还有 7 个工作日到期" in sent[0].text
    async with UnitOfWork(runtime.database) as uow:  # the dead process's late finish changes nothing
        assert not await uow.reminders.finish(claimed.id or 0, owner="dead:1", status="sent", now=clock.now())
    assert await reminders.at("2026-12-09 09:10") == []
