from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
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
    ) -> None:
        self.session.add(
            AuditEntry(
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
        )

    async def for_subject(self, subject_type: str, subject_id: str | int) -> Sequence[AuditEntry]:
        result = await self.session.execute(
            select(AuditEntry)
            .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == str(subject_id))
            .order_by(AuditEntry.id)
        )
        return result.scalars().all()
