"""Shared steps of the reminder tests: move the clock, run a tick, read what was queued for a chat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.services.reminders.tick import TickReport, plan_draft_nudges
from storage.models import OutboxMessage, Reminder
from storage.uow import UnitOfWork

TZ = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    """'2026-12-09 09:00' in Kunming time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@dataclass
class Sent:
    chat_id: str
    text: str
    actions: dict[str, str]


class Reminders:
    """Drives the reminder tick of one runtime as the scheduler would, at times the test chooses."""

    def __init__(self, runtime: Runtime, clock: ManualClock) -> None:
        self.runtime, self.clock = runtime, clock
        self._seen = 0

    async def mark(self) -> None:
        """Forget everything queued so far: `new()` reports only what comes after."""
        async with UnitOfWork(self.runtime.database) as uow:
            self._seen = int((await uow.session.execute(select(func.max(OutboxMessage.id)))).scalar() or 0)

    async def at(self, when: str) -> list[Sent]:
        """Set the clock to local time `when`, run the tick (drafts planned first), return what it queued."""
        await self.mark()
        self.clock.set(local(when))
        await plan_draft_nudges(self.runtime.database, self.clock)
        self.report: TickReport = await self.runtime.reminder_tick().run()
        return await self.new()

    async def new(self) -> list[Sent]:
        async with UnitOfWork(self.runtime.database) as uow:
            rows = (
                await uow.session.execute(
                    select(OutboxMessage).where(OutboxMessage.id > self._seen).order_by(OutboxMessage.id)
                )
            ).scalars()
            found = [
                Sent(
                    r.chat_id,
                    r.payload["text"],
                    {b["label"]: b["action"] for line in r.payload.get("buttons", []) for b in line},
                )
                for r in rows
            ]
        await self.mark()
        return found

    async def rows(self, subject_type: str | None = None) -> list[Reminder]:
        async with UnitOfWork(self.runtime.database) as uow:
            query = select(Reminder).order_by(Reminder.due_at, Reminder.id)
            if subject_type is not None:
                query = query.where(Reminder.subject_type == subject_type)
            return list((await uow.session.execute(query)).scalars())

    async def plan(self, subject_type: str, status: str = "pending") -> list[tuple[str, str, str]]:
        """(kind, local due time, label) of the rows about `subject_type` in `status`."""
        return [
            (r.kind, f"{r.due_at.astimezone(TZ):%Y-%m-%d %H:%M}", str(r.payload.get("label", "")))
            for r in await self.rows(subject_type)
            if r.status == status
        ]
