from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import ConcurrentUpdate
from storage.models import ProcessedUpdate


class ProcessedUpdateRepository:
    """Which channel updates were applied, so that one delivered twice is applied once."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, channel: str, update_id: int, now: datetime) -> bool:
        """Record the update as applied by this transaction; False if an earlier one already was.

        The row commits or rolls back with the change it stands for. Two processes claiming the
        same update at once (a webhook retried while the first delivery is still running): the
        second fails here and its event is retried, then finds the first one's row.
        """
        found = await self.session.execute(
            select(ProcessedUpdate.update_id).where(
                ProcessedUpdate.channel == channel, ProcessedUpdate.update_id == update_id
            )
        )
        if found.first() is not None:
            return False
        self.session.add(ProcessedUpdate(channel=channel, update_id=update_id, processed_at=now))
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise ConcurrentUpdate(f"{channel} update {update_id} claimed concurrently") from exc
        return True

    async def prune(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
