from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.invitation import Invitation


class InvitationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, invitation: Invitation) -> Invitation:
        self.session.add(invitation)
        await self.session.flush()
        return invitation

    async def find(self, token_hash: str) -> Invitation | None:
        result = await self.session.execute(select(Invitation).where(Invitation.token_hash == token_hash))
        return result.scalars().first()

    async def claim(self, token_hash: str, now: datetime) -> bool:
        """Mark an open, unexpired invitation used; False when it is not (one conditional UPDATE, so
        two phones opening the same link at once cannot both get in)."""
        result = await self.session.execute(
            update(Invitation)
            .where(
                Invitation.token_hash == token_hash,
                Invitation.used_at.is_(None),  # type: ignore[union-attr]
                Invitation.expires_at > now,
            )
            .values(used_at=now)
        )
        return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def set_user(self, invitation_id: int, user_id: int) -> None:
        await self.session.execute(
            update(Invitation).where(Invitation.id == invitation_id).values(used_by_user_id=user_id)
        )
