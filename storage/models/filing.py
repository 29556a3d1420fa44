from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Filing(SQLModel, table=True):
    """A pre-filing (容错报备). Drafts are filings in status `draft` and have no number yet."""

    __tablename__ = "filing"
    __table_args__ = (
        UniqueConstraint("jurisdiction_code", "year", "seq", name="uq_filing_number_parts"),
        Index("ix_filing_user_status", "user_id", "status"),
        Index("ix_filing_jurisdiction_status", "jurisdiction_code", "status"),
        UniqueConstraint("jurisdiction_code", "year", "decision_seq", name="uq_filing_decision_parts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Chosen by the dialog when the draft starts, so every step can upsert the same row.
    draft_key: str | None = Field(default=None, unique=True, max_length=40)
    number: str | None = Field(default=None, unique=True, max_length=40)
    user_id: int = Field(foreign_key="app_user.id")
    unit_code: str | None = Field(default=None, foreign_key="org_unit.code", max_length=32)
    jurisdiction_code: str | None = Field(default=None, foreign_key="org_unit.code", max_length=32)
    status: str = Field(default="draft", max_length=30)
    title: str | None = Field(default=None, max_length=120)
    category: str | None = Field(default=None, max_length=10)
    filer_kind: str | None = Field(default=None, max_length=10)
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    step: str | None = Field(default=None, max_length=40)
    year: int | None = None
    seq: int | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    selfcheck_id: int | None = Field(default=None, foreign_key="selfcheck_result.id")
    # Initial review (初审)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_by: int | None = Field(default=None, foreign_key="app_user.id")
    risk_colour: str | None = Field(default=None, max_length=10)
    decision_number: str | None = Field(default=None, unique=True, max_length=60)
    decision_seq: int | None = None
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
