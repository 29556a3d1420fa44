from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

# What the statistics read besides (jurisdiction_code, submitted_at); covered by ix_filing_stats.
STATS_COLUMNS = [
    "submitted_month",
    "category",
    "unit_code",
    "status",
    "situation_mask",
    "decision_seq",
    "review_work_hours",
    "review_late",
]


class Filing(SQLModel, table=True):
    """A pre-filing (容错报备). Drafts are filings in status `draft` and have no number yet."""

    __tablename__ = "filing"
    __table_args__ = (
        UniqueConstraint("jurisdiction_code", "year", "seq", name="uq_filing_number_parts"),
        Index("ix_filing_user_status", "user_id", "status"),
        Index("ix_filing_jurisdiction_status", "jurisdiction_code", "status"),
        UniqueConstraint("jurisdiction_code", "year", "decision_seq", name="uq_filing_decision_parts"),
        # Statistics (storage/repositories/stats.py, migration 0007). PostgreSQL counts every figure
        # in one index-only scan of ix_filing_stats (on SQLite its key holds all STATS_COLUMNS).
        Index("ix_filing_stats", "jurisdiction_code", "submitted_at", postgresql_include=STATS_COLUMNS),
        Index("ix_filing_awaiting_review", "review_due_at", "jurisdiction_code", "submitted_at",
              "review_work_hours", postgresql_where=text("status = 'submitted'"),
              sqlite_where=text("status = 'submitted'")),
        # SQLite groups by sorting: each of these lets one GROUP BY stream in index order instead.
        Index("ix_filing_stats_month", "submitted_month", "category", "status", "situation_mask",
              "decision_seq", "jurisdiction_code", "submitted_at").ddl_if(dialect="sqlite"),
        Index("ix_filing_stats_unit", "unit_code", "status", "decision_seq", "jurisdiction_code",
              "submitted_at").ddl_if(dialect="sqlite"),
        Index("ix_filing_stats_hours", "review_work_hours", "review_late", "jurisdiction_code",
              "submitted_at", sqlite_where=text("review_work_hours IS NOT NULL")).ddl_if(dialect="sqlite"),
        # The rollup (storage/models/rollup.py, migration 0009): which slices changed since the
        # watermark, and the exact review hours inside the median's bucket.
        Index("ix_filing_updated", "updated_at", "jurisdiction_code", "submitted_month").ddl_if(dialect="sqlite"),
        Index("ix_filing_updated", "updated_at",
              postgresql_include=["jurisdiction_code", "submitted_month"]).ddl_if(dialect="postgresql"),
        Index("ix_filing_review_hours", "review_work_hours",
              postgresql_include=["jurisdiction_code", "submitted_at"],
              postgresql_where=text("review_work_hours IS NOT NULL")).ddl_if(dialect="postgresql"),
    )  # fmt: skip

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
    # Written once for statistics (bot/services/stats/record.py), so that queries only count:
    # the local month of submission (YYYYMM), and for the first initial-review decision the
    # office hours it took (bot/workdays.py) and whether it came after the deadline.
    submitted_month: int | None = None
    review_work_hours: float | None = None
    review_late: bool | None = None
    # The tolerance situations the filing claims, as a bit set (see situation_mask below), so that
    # counting them takes no pass of its own.
    situation_mask: int | None = Field(default=None, sa_type=BigInteger)


def situation_mask(situations: Iterable[str]) -> int:
    """S1 is bit 0, S2 bit 1, ... (the pack's situation ids are S1, S2, ...; up to S63 fit)."""
    mask = 0
    for situation in situations:
        number = situation[1:] if situation[:1] == "S" else ""
        if number.isdigit() and 1 <= int(number) <= 63:
            mask |= 1 << (int(number) - 1)
    return mask


def situations_of(mask: int) -> list[str]:
    return [f"S{bit + 1}" for bit in range(63) if mask >> bit & 1]
