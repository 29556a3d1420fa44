from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class ToleranceReview(SQLModel, table=True):
    """A tolerance decision (容错认定) opened on a filing: verification, deliberation, decision."""

    __tablename__ = "tolerance_review"
    __table_args__ = (
        UniqueConstraint("jurisdiction_code", "year", "decision_seq", name="uq_review_decision_parts"),
        Index("ix_review_jurisdiction_status", "jurisdiction_code", "status"),
        Index("ix_review_stats_opened", "jurisdiction_code", "opened_at", "source"),
        Index("ix_review_stats_decided", "jurisdiction_code", "decided_at", "outcome", "advisory_verdict"),
    )

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filing.id", index=True)
    jurisdiction_code: str = Field(foreign_key="org_unit.code", max_length=32)
    source: str = Field(max_length=30)  # linked_filing | complaint | audit | inspection | self_application
    status: str = Field(default="verifying", max_length=20)  # verifying | deliberation | decided
    reason: str
    team: list[int] = Field(default_factory=list, sa_type=JSON)  # officer user ids verifying
    findings: str | None = None
    meeting_date: date | None = None
    meeting_decision: str | None = None
    outcome: str | None = Field(default=None, max_length=20)  # exempt | mitigate | not_tolerated | cleared
    decision_number: str | None = Field(default=None, unique=True, max_length=60)
    year: int | None = None
    decision_seq: int | None = None
    opened_by: int = Field(foreign_key="app_user.id")
    opened_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # The filing's self-check verdict when the decision was made, for the advisory-vs-decision
    # statistics (bot/services/stats/model.py VERDICT_MATCHES); None without a self-check.
    advisory_verdict: str | None = Field(default=None, max_length=20)


class RectificationItem(SQLModel, table=True):
    """One rectification task (整改事项): problem, measure, owner, due date, evidence and acceptance."""

    __tablename__ = "rectification_item"
    __table_args__ = (
        UniqueConstraint("filing_id", "item_no", name="uq_rectification_item_no"),
        Index("ix_rectification_status_due", "status", "due_date"),
        # Covering, in GROUP BY order: few rows per jurisdiction, so no jurisdiction-first variant.
        Index(
            "ix_rectification_stats",
            "status",
            "extended",
            "jurisdiction_code",
            "created_at",
            "due_date",
            "accepted_at",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="filing.id", index=True)
    # The filing's, copied so that statistics per jurisdiction need no join.
    jurisdiction_code: str | None = Field(default=None, max_length=32)
    review_id: int | None = Field(default=None, foreign_key="tolerance_review.id")
    item_no: int
    problem: str
    measure: str
    owner_user_id: int = Field(foreign_key="app_user.id", index=True)
    due_date: date
    original_due_date: date
    status: str = Field(default="open", max_length=20)  # open | submitted | accepted | closed
    extended: bool = False
    evidence_text: str | None = None
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    officer_note: str | None = None
    created_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class JurisdictionSetting(SQLModel, table=True):
    """Per county: the officers' group chat for digests and the lead officer for escalations."""

    __tablename__ = "jurisdiction_setting"

    code: str = Field(foreign_key="org_unit.code", primary_key=True, max_length=32)
    group_chat_id: str | None = Field(default=None, max_length=40)
    lead_officer_id: int | None = Field(default=None, foreign_key="app_user.id")
    digest_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
