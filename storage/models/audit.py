from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class AuditEntry(SQLModel, table=True):
    """Who did what to which subject, when, and the state before and after. Never updated."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor_label: str | None = Field(default=None, max_length=100)
    action: str = Field(max_length=60)
    subject_type: str = Field(max_length=30)
    subject_id: str = Field(max_length=60)
    from_state: str | None = Field(default=None, max_length=30)
    to_state: str | None = Field(default=None, max_length=30)
    comment: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
