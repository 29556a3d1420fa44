from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Reminder(SQLModel, table=True):
    """A reminder is a row, not a scheduler job: a tick claims due rows under a lease."""

    __tablename__ = "reminder"
    __table_args__ = (
        Index("ix_reminder_due", "status", "due_at"),
        Index("ix_reminder_subject", "subject_type", "subject_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    due_at: datetime = Field(sa_type=UTCDateTime)
    target_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    subject_type: str = Field(max_length=30)
    subject_id: str = Field(max_length=60)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=60)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dedupe_key: str | None = Field(default=None, unique=True, max_length=120)
