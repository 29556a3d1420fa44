from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class OutboxMessage(SQLModel, table=True):
    """A message to someone other than the speaker, written in the transaction that caused it.

    A dispatcher delivers it later, so a crash between commit and send loses nothing.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    channel: str = Field(max_length=20)
    chat_id: str = Field(max_length=100)
    payload: dict[str, Any] = Field(sa_type=JSON)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=60)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    external_message_id: str | None = Field(default=None, max_length=60)
    dedupe_key: str | None = Field(default=None, unique=True, max_length=120)
