"""Reminder rows: planned with the change that gives something a deadline, leased out to ticks.

A tick claims due rows in a short transaction of its own (setting a lease), then, in a second
transaction, marks each one finished and writes its messages to the outbox. The finishing update
only succeeds for the lease holder of a still-pending row, so a row whose lease ran out and was
taken by another process is finished by exactly one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Reminder

PENDING = "pending"
SENT = "sent"  # messages were queued in the outbox
SKIPPED = "skipped"  # its subject moved on before it was due (an item submitted, a visit made)
CANCELLED = "cancelled"  # withdrawn when it was planned again (an extension) or its subject closed
UNDELIVERABLE = "undeliverable"  # nobody to send it to could be reached

_R = Reminder


def _lease_free(now: datetime) -> ColumnElement[bool]:
    return or_(_R.lease_until.is_(None), _R.lease_until <= now)  # type: ignore[union-attr,operator]


class ReminderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _dialect(self) -> str:
        return self.session.bind.dialect.name  # type: ignore[union-attr]

    async def plan(
        self,
        *,
        kind: str,
        due_at: datetime,
        target_user_id: int | None,
        subject_type: str,
        subject_id: str | int,
        now: datetime,
        payload: dict[str, Any] | None = None,
        dedupe_key: str,
    ) -> bool:
        """Add a reminder unless one with the same key exists (planning twice is harmless)."""
        values = {
            "kind": kind,
            "due_at": due_at,
            "target_user_id": target_user_id,
            "subject_type": subject_type,
            "subject_id": str(subject_id),
            "status": PENDING,
            "attempts": 0,
            "payload": payload or {},
            "created_at": now,
            "dedupe_key": dedupe_key[:120],
        }
        insert = pg_insert if self._dialect() == "postgresql" else sqlite_insert
        result = await self.session.execute(
            insert(_R).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(_R.id)
        )
        return result.scalar_one_or_none() is not None

    async def for_subject(self, subject_type: str, subject_id: str | int) -> Sequence[Reminder]:
        result = await self.session.execute(
            select(_R)
            .where(_R.subject_type == subject_type, _R.subject_id == str(subject_id))
            .order_by(_R.due_at, _R.id)
        )
        return result.scalars().all()

    async def cancel(
        self,
        subject_type: str,
        subject_ids: Sequence[str | int],
        now: datetime,
        *,
        kinds: Sequence[str] = (),
        keep_prefix: str | None = None,
    ) -> int:
        """Withdraw the pending reminders of these subjects (of these kinds, if given), except
        those whose dedupe key starts with `keep_prefix` (the current plan, when re-planning)."""
        if not subject_ids:
            return 0
        statement = update(_R).where(
            _R.status == PENDING,
            _R.subject_type == subject_type,
            _R.subject_id.in_([str(s) for s in subject_ids]),  # type: ignore[attr-defined]
        )
        if kinds:
            statement = statement.where(_R.kind.in_(kinds))  # type: ignore[attr-defined]
        if keep_prefix:
            statement = statement.where(~_R.dedupe_key.startswith(keep_prefix, autoescape=True))  # type: ignore[union-attr]
        result = await self.session.execute(
            statement.values(status=CANCELLED, done_at=now).execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def due(self, now: datetime, limit: int = 1000) -> Sequence[Reminder]:
        """Pending rows due by `now`, leased or not: what a dry run would look at."""
        result = await self.session.execute(
            select(_R).where(_R.status == PENDING, _R.due_at <= now).order_by(_R.due_at, _R.id).limit(limit)  # type: ignore[operator]
        )
        return result.scalars().all()

    async def pending(self, due_before: datetime | None = None, limit: int = 1000) -> Sequence[Reminder]:
        query = select(_R).where(_R.status == PENDING)
        if due_before is not None:
            query = query.where(_R.due_at < due_before)  # type: ignore[operator]
        result = await self.session.execute(query.order_by(_R.due_at, _R.id).limit(limit))
        return result.scalars().all()

    async def count_due(self, now: datetime) -> int:
        """Pending rows due by `now`, leased or not: the reminders metric."""
        result = await self.session.execute(
            select(func.count()).select_from(_R).where(_R.status == PENDING, _R.due_at <= now)  # type: ignore[operator]
        )
        return int(result.scalar_one())

    async def count_by_status(self) -> dict[str, int]:
        result = await self.session.execute(select(_R.status, func.count()).group_by(_R.status))
        return {status: int(count) for status, count in result.all()}

    async def claim_due(self, *, owner: str, now: datetime, lease: timedelta, limit: int) -> list[Reminder]:
        """Lease up to `limit` due rows to `owner`, oldest due first.

        One UPDATE whose targets come from a CTE: on PostgreSQL the CTE takes FOR UPDATE SKIP
        LOCKED, so two ticks pass over each other's rows, and the outer WHERE is re-checked on the
        newest row version. SQLite has no row locks, but the UPDATE takes the database's write
        lock before reading, so it sees every committed lease; call it first in a fresh
        transaction and commit right after.
        """
        if limit <= 0:
            return []
        due_rows = (
            select(_R.id)
            .where(_R.status == PENDING, _R.due_at <= now, _lease_free(now))  # type: ignore[operator]
            .order_by(_R.due_at, _R.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due_rows")
        )
        statement = (
            update(_R)
            .where(_R.id.in_(select(due_rows.c.id)), _R.status == PENDING, _lease_free(now))  # type: ignore[union-attr]
            .values(lease_owner=owner, lease_until=now + lease, attempts=_R.attempts + 1)
            .returning(_R.id)
            .execution_options(synchronize_session=False)
        )
        ids = list((await self.session.execute(statement)).scalars())
        if not ids:
            return []
        rows = await self.session.scalars(
            select(_R)
            .where(_R.id.in_(ids))  # type: ignore[union-attr]
            .order_by(_R.due_at, _R.id)
            .execution_options(populate_existing=True)
        )
        return list(rows)

    async def finish(self, reminder_id: int, *, owner: str, status: str, now: datetime) -> bool:
        """Close a leased row; False when the lease was lost (another process finishes it)."""
        result = await self.session.execute(
            update(_R)
            .where(_R.id == reminder_id, _R.status == PENDING, _R.lease_owner == owner)
            .values(status=status, done_at=now, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def finish_as(self, reminder_id: int, *, status: str) -> None:
        """Correct the status of a row this transaction has just finished."""
        await self.session.execute(
            update(_R)
            .where(_R.id == reminder_id)
            .values(status=status)
            .execution_options(synchronize_session=False)
        )
