"""The reminder tick: claims due rows under a lease, turns them into outbox messages, marks them done.

Exactly once across processes: the claim is one conditional UPDATE (SKIP LOCKED on PostgreSQL),
and the row is finished in the same transaction that writes its outbox messages, by its lease
holder only. A process that dies holding a lease loses nothing; when the lease runs out another
tick takes the row. Nothing is claimed during quiet hours, so reminders due at night or on a
holiday wait in their rows for the next working morning.

A claimed batch is finished in short transactions of ``chunk`` rows, so that a large backlog
(10,000 reminders due at once: about 50 s of work) never holds the database for long: the
outbox dispatcher's claims and marks get their turn in between and sending starts at once (on
SQLite, this process's writers queue in turn: storage/database.py WriterGate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from bot.clock import Clock
from bot.quiet_hours import QuietHours
from bot.services.calls import Environment
from bot.services.notify import queue_message
from bot.services.reminders import schedule
from bot.services.reminders.kinds import KINDS, Decision, Scope, skip
from dialogs.directory import OrgDirectory
from dialogs.texts import Texts
from storage.database import Database
from storage.models import Reminder
from storage.repositories.reminders import SENT, SKIPPED, UNDELIVERABLE
from storage.uow import UnitOfWork

log = structlog.get_logger(__name__)
LEASE = timedelta(minutes=2)
BATCH = 200
# Reminders finished per transaction (each with its outbox messages), about 0.1 s of work.
CHUNK = 25
# Drafts untouched for longer than this are left alone: the nudges were sent or the moment passed.
DRAFT_WINDOW = timedelta(days=30)


@dataclass
class TickReport:
    sent: int = 0
    skipped: int = 0
    undeliverable: int = 0
    messages: int = 0
    lost: int = 0  # rows whose lease another process took over before this one finished them

    @property
    def finished(self) -> int:
        return self.sent + self.skipped + self.undeliverable


@dataclass
class Preview:
    """What one due row would do now: for `rongcuo reminders run-due --dry-run`."""

    reminder: Reminder
    recipients: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    skip: str | None = None


class ReminderTick:
    def __init__(
        self,
        database: Database,
        directory: Callable[[], OrgDirectory],
        clock: Clock,
        env: Environment,
        *,
        owner: str,
        quiet: QuietHours | None = None,
        lease: timedelta = LEASE,
        batch: int = BATCH,
        chunk: int = CHUNK,
    ) -> None:
        if batch < 1 or chunk < 1:
            raise ValueError("batch and chunk must be at least 1")
        self.database, self.directory, self.clock, self.env = database, directory, clock, env
        self.owner, self.lease, self.batch, self.chunk = owner, lease, batch, chunk
        self.quiet = quiet or QuietHours(env.calendar, env.tz)

    async def run(self, *, max_batches: int = 1000) -> TickReport:
        """Send everything due now (unless it is quiet); returns what was done."""
        report = TickReport()
        for _ in range(max_batches):
            now = self.clock.now()
            if not self.quiet.allows(now):
                break
            async with UnitOfWork(self.database) as uow:
                rows = await uow.reminders.claim_due(
                    owner=self.owner, now=now, lease=self.lease, limit=self.batch
                )
                await uow.commit()
            if not rows:
                break
            await self._finish(rows, report)
        if report.finished or report.lost:
            log.info(
                "reminders.sent",
                sent=report.sent,
                skipped=report.skipped,
                undeliverable=report.undeliverable,
                messages=report.messages,
                lost=report.lost,
            )
        return report

    async def _finish(self, rows: list[Reminder], report: TickReport) -> None:
        for start in range(0, len(rows), self.chunk):
            await self._finish_chunk(rows[start : start + self.chunk], report)

    async def _finish_chunk(self, rows: list[Reminder], report: TickReport) -> None:
        now = self.clock.now()
        async with UnitOfWork(self.database) as uow:
            scope = Scope(uow, self.env, self.directory(), now)
            for row in rows:
                assert row.id is not None
                decision = await self._decide(scope, row)
                status = SENT if decision.messages else SKIPPED
                # Finishing first: if the lease was lost, this row writes nothing at all.
                if not await uow.reminders.finish(row.id, owner=self.owner, status=status, now=now):
                    report.lost += 1
                    continue
                reached = 0
                for message in decision.messages:
                    assert message.recipient.id is not None
                    reached += await queue_message(
                        uow,
                        now,
                        message.recipient,
                        message.render,
                        dedupe_key=f"reminder:{row.id}:{message.recipient.id}",
                    )
                report.messages += reached
                if decision.messages and not reached:
                    await uow.reminders.finish_as(row.id, status=UNDELIVERABLE)
                    report.undeliverable += 1
                elif decision.messages:
                    report.sent += 1
                else:
                    report.skipped += 1
                    log.debug("reminders.skipped", id=row.id, kind=row.kind, reason=decision.skip)
            await uow.commit()

    @staticmethod
    async def _decide(scope: Scope, row: Reminder) -> Decision:
        kind = KINDS.get(row.kind)
        if kind is None:
            log.error("reminders.unknown_kind", id=row.id, kind=row.kind)
            return skip("unknown_kind")
        return await kind(scope, row)

    async def preview(self, now: datetime, limit: int = 1000) -> list[Preview]:
        """What a tick at `now` would send, without claiming or changing anything."""
        previews: list[Preview] = []
        async with UnitOfWork(self.database) as uow:
            scope = Scope(uow, self.env, self.directory(), now)
            for row in await uow.reminders.due(now, limit):
                decision = await self._decide(scope, row)
                preview = Preview(row, skip=decision.skip)
                for message in decision.messages:
                    recipient = message.recipient
                    preview.recipients.append(f"{recipient.name or '—'} (#{recipient.id})")
                    preview.texts.append(message.render(Texts(recipient.locale)).text)
                previews.append(preview)
        return previews


async def plan_draft_nudges(database: Database, clock: Clock) -> int:
    """Plan one nudge for drafts untouched for 3 days and one more at 14; returns how many were new.

    Rows are keyed by the draft's last change, so a draft edited after a nudge starts afresh, and
    planning again (every few minutes, by several processes) adds nothing.
    """
    now = clock.now()
    first, second = schedule.DRAFT_NUDGE_AFTER
    planned = 0
    async with UnitOfWork(database) as uow:
        for draft in await uow.filings.stale_drafts(now - DRAFT_WINDOW, now - first):
            stamp = draft.updated_at.astimezone(UTC).isoformat()
            # After a long break only the later nudge is due: two at once would be noise.
            stage, after = (2, second) if draft.updated_at <= now - second else (1, first)
            planned += await uow.reminders.plan(
                kind="draft_nudge",
                due_at=draft.updated_at + after,
                target_user_id=draft.user_id,
                subject_type="filing",
                subject_id=draft.id or 0,
                now=now,
                payload={"stamp": stamp, "stage": stage},
                dedupe_key=f"draft:{draft.id}:{stage}:{stamp}",
            )
        await uow.commit()
    return planned
