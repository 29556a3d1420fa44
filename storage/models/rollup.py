"""The filing figures of /stats summed per (jurisdiction, month of submission): the rollup.

Kept by storage/repositories/stats.py (refresh_rollup): a slice (jurisdiction, month) is recomputed
whole from the filing table whenever one of its filings changed (filing.updated_at newer than the
watermark), so a slice is always exactly what the live GROUP BY of its filings would give.
NULL category / unit / situations are stored as '' / '' / 0 (key columns cannot be NULL), which
the figures show exactly as the live queries' NULLs ("—", no situation).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class FilingRollup(SQLModel, table=True):
    """Filings by category, claimed situations and status."""

    __tablename__ = "filing_rollup"

    jurisdiction_code: str = Field(primary_key=True, max_length=32)
    month: int = Field(primary_key=True)  # YYYYMM, filing.submitted_month
    category: str = Field(primary_key=True, max_length=10)
    situation_mask: int = Field(primary_key=True, sa_type=BigInteger)
    status: str = Field(primary_key=True, max_length=30)
    filings: int
    accepted: int  # of which ever accepted (decision_seq set)


class FilingUnitRollup(SQLModel, table=True):
    """Filings by unit and status."""

    __tablename__ = "filing_unit_rollup"

    jurisdiction_code: str = Field(primary_key=True, max_length=32)
    month: int = Field(primary_key=True)
    unit_code: str = Field(primary_key=True, max_length=32)
    status: str = Field(primary_key=True, max_length=30)
    filings: int
    accepted: int


class FilingReviewRollup(SQLModel, table=True):
    """First initial-review decisions by office hours taken, in quarter-hour buckets.

    Bucket b holds (b-1)/4 < hours <= b/4 (bucket 0: exactly 0), so every histogram bound of
    bot/services/stats/model.py is a bucket edge; the exact median is read from the one or two
    buckets it falls in (exact values are kept to the hundredth, too many to key a rollup by).
    """

    __tablename__ = "filing_review_rollup"

    jurisdiction_code: str = Field(primary_key=True, max_length=32)
    month: int = Field(primary_key=True)
    bucket: int = Field(primary_key=True)
    decided: int
    late: int  # of which after the deadline


class RollupState(SQLModel, table=True):
    """How far the rollup is: every filing change stamped (filing.updated_at) up to `watermark`
    and committed by then is in it; a refresh also redoes the changes stamped up to
    ROLLUP_MARGIN before it, for transactions that commit late. NULL: never built (the next
    refresh builds it whole). Filings written other than through the services (a bulk load)
    need a rebuild (refresh_rollup(rebuild=True))."""

    __tablename__ = "rollup_state"

    name: str = Field(primary_key=True, max_length=40)
    watermark: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refreshed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
