from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class ReturnVisit(SQLModel, table=True):
    """A planned return visit (回访) after a decision, and, once made, the officer's record of it."""

    __tablename__ = "return_visit"
    __table_args__ = (
        UniqueConstraint("review_id", "seq", name="uq_return_visit_seq"),
        Index("ix_return_visit_officer_status", "officer_user_id", "status"),
        Index("ix_return_visit_stats", "jurisdiction_code", "due_date", "status", "visited_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="tolerance_review.id")
    filing_id: int = Field(foreign_key="filing.id", index=True)
    jurisdiction_code: str = Field(foreign_key="org_unit.code", max_length=32)
    cadre_user_id: int = Field(foreign_key="app_user.id", index=True)
    officer_user_id: int = Field(foreign_key="app_user.id")
    outcome: str = Field(max_length=20)  # the decision that led to the visit
    seq: int
    due_date: date
    status: str = Field(default="planned", max_length=20)  # planned | done
    # The cadre's own answers to the short questionnaire, sent at the visit date.
    questionnaire: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    questionnaire_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The officer's record; the cadre never sees these notes.
    visited_on: date | None = None
    form: str | None = Field(default=None, max_length=20)  # talk | unit_visit | colleagues
    notes: str | None = None
    next_step: str | None = None
    stage: str | None = Field(default=None, max_length=20)  # counselling | guidance | follow_up
    recorded_by: int | None = Field(default=None, foreign_key="app_user.id")
    recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
