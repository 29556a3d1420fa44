from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate
from storage.types import UTCDateTime

# One statement instead of a look-up and an insert, in words both engines know. Text rather than
# the dialects' insert().on_conflict_do_nothing(): SQLAlchemy cannot cache the compiled form of
# those and compiled it again on every update.
_CLAIM = text(
    "INSERT INTO processed_update (channel, update_id, processed_at)"
    " VALUES (:channel, :update_id, :processed_at) ON CONFLICT DO NOTHING"
).bindparams(bindparam("processed_at", type_=UTCDateTime()))


class ProcessedUpdateRepository:
    """Which channel updates were applied, so that one delivered twice is applied once."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, channel: str, update_id: int, now: datetime) -> bool:
        """Record the update as applied by this transaction; False if an earlier one already was.

        The row commits or rolls back with the change it stands for. Two processes claiming the
        same update at once (a webhook retried while the first delivery is still running): the
        second waits here for the first transaction to end, then finds its row (False) if it
        committed, or claims the update itself if it rolled back.
        """
        result = await self.session.execute(
            _CLAIM, {"channel": channel, "update_id": update_id, "processed_at": now}
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def prune(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
