from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        *,
        at: datetime,
        action: str,
        subject_type: str,
        subject_id: str | int,
        actor_user_id: int | None = None,
        actor_label: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> AuditEntry:
        entry = AuditEntry(
            at=at,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            actor_user_id=actor_user_id,
            actor_label=actor_label,
            from_state=from_state,
            to_state=to_state,
            comment=comment,
            data=data or {},
        )
        self.session.add(entry)
        return entry

    async def for_subject(self, subject_type: str, subject_id: str | int) -> Sequence[AuditEntry]:
        result = await self.session.execute(
            select(AuditEntry)
            .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == str(subject_id))
            .order_by(AuditEntry.id)
        )
        return result.scalars().all()

    async def get(self, entry_id: int) -> AuditEntry | None:
        return await self.session.get(AuditEntry, entry_id)

    async def latest(self, subject_type: str, action: str) -> AuditEntry | None:
        """The newest entry of `action` (the subject type lets the index find it in a long log)."""
        query = select(AuditEntry).where(AuditEntry.subject_type == subject_type, AuditEntry.action == action)
        result = await self.session.execute(query.order_by(AuditEntry.id.desc()).limit(1))  # type: ignore[union-attr]
        return result.scalars().first()

    async def trail(self, subjects: dict[str, list[str]]) -> Sequence[AuditEntry]:
        """What was done to any of several subjects (a filing and its reviews, items, visits), in order.

        Refused attempts are left out: an id someone typed says nothing about the subject itself.
        """
        conditions = [
            and_(AuditEntry.subject_type == kind, AuditEntry.subject_id.in_(ids))  # type: ignore[attr-defined]
            for kind, ids in subjects.items()
            if ids
        ]
        if not conditions:
            return []
        query = select(AuditEntry).where(or_(*conditions), AuditEntry.action != "access.denied")
        result = await self.session.execute(query.order_by(AuditEntry.at, AuditEntry.id))
        return result.scalars().all()
