from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class PolicySnapshot(SQLModel, table=True):
    """The exact text of every policy pack version a verdict was computed with."""

    __tablename__ = "policy_snapshot"

    version: str = Field(primary_key=True, max_length=40)
    policy_id: str = Field(max_length=40)
    content: str
    first_seen_at: datetime = Field(sa_type=UTCDateTime)


class SelfCheckResult(SQLModel, table=True):
    """Answers to the self-check questionnaire and the advisory verdict they gave."""

    __tablename__ = "selfcheck_result"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    mode: str = Field(max_length=20)  # standalone | prefiling
    answers: dict[str, Any] = Field(sa_type=JSON)
    result: dict[str, Any] = Field(sa_type=JSON)
    verdict: str = Field(max_length=20)
    policy_id: str = Field(max_length=40)
    policy_version: str = Field(foreign_key="policy_snapshot.version", max_length=40)
    saved: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
