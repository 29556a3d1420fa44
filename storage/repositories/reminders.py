from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Reminder


class ReminderRepository:
    """Reminder rows: what is due, for whom, about what. The scheduler (a later issue) sends them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def plan(
        self,
        *,
        kind: str,
        due_at: datetime,
        target_user_id: int,
        subject_type: str,
        subject_id: str | int,
        now: datetime,
        payload: dict[str, Any] | None = None,
        dedupe_key: str,
    ) -> None:
        """Add a reminder unless one with the same key exists (planning twice is harmless)."""
        values = {
            "kind": kind,
            "due_at": due_at,
            "target_user_id": target_user_id,
            "subject_type": subject_type,
            "subject_id": str(subject_id),
            "status": "pending",
            "attempts": 0,
            "payload": payload or {},
            "created_at": now,
            "dedupe_key": dedupe_key,
        }
        insert = pg_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert  # type: ignore[union-attr]
        await self.session.execute(
            insert(Reminder).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
        )

    async def for_subject(self, subject_type: str, subject_id: str | int) -> Sequence[Reminder]:
        result = await self.session.execute(
            select(Reminder)
            .where(Reminder.subject_type == subject_type, Reminder.subject_id == str(subject_id))
            .order_by(Reminder.due_at)
        )
        return result.scalars().all()
