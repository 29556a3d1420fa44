from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class ProcessedUpdate(SQLModel, table=True):
    """A Telegram update already applied, written in the transaction that applied it.

    Telegram delivers an update again when the bot never confirmed it: a process killed after
    handling a batch but before its next getUpdates, or a webhook answered too late. The second
    delivery finds this row and changes nothing. Telegram keeps updates for 24 hours, so rows
    older than a day can go.
    """

    __tablename__ = "processed_update"

    channel: str = Field(primary_key=True, max_length=20)
    update_id: int = Field(primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False})
    processed_at: datetime = Field(sa_type=UTCDateTime, index=True)
