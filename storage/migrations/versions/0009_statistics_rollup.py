"""statistics rollup: the filing figures per (jurisdiction, month), refreshed incrementally

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

Adds filing_rollup, filing_unit_rollup, filing_review_rollup and rollup_state (see
storage/models/rollup.py), the indexes the refresh and the median need, and fills the rollup
for the filings already stored. The SQL is written out here (not imported from the repository)
so that this migration never changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUBMITTED = "submitted_at IS NOT NULL AND submitted_month IS NOT NULL AND jurisdiction_code IS NOT NULL"
FILL = [
    "INSERT INTO filing_rollup (jurisdiction_code, month, category, situation_mask, status, filings, accepted) "
    "SELECT jurisdiction_code, submitted_month, COALESCE(category, ''), COALESCE(situation_mask, 0), status, "
    f"count(*), count(decision_seq) FROM filing WHERE {_SUBMITTED} "
    "GROUP BY jurisdiction_code, submitted_month, COALESCE(category, ''), COALESCE(situation_mask, 0), status",
    "INSERT INTO filing_unit_rollup (jurisdiction_code, month, unit_code, status, filings, accepted) "
    "SELECT jurisdiction_code, submitted_month, COALESCE(unit_code, ''), status, count(*), count(decision_seq) "
    f"FROM filing WHERE {_SUBMITTED} "
    "GROUP BY jurisdiction_code, submitted_month, COALESCE(unit_code, ''), status",
    "INSERT INTO filing_review_rollup (jurisdiction_code, month, bucket, decided, late) "
    "SELECT jurisdiction_code, submitted_month, (CAST(ROUND(review_work_hours * 100) AS INTEGER) + 24) / 25, "
    "count(*), SUM(CASE WHEN review_late THEN 1 ELSE 0 END) "
    f"FROM filing WHERE {_SUBMITTED} AND review_work_hours IS NOT NULL "
    "GROUP BY jurisdiction_code, submitted_month, (CAST(ROUND(review_work_hours * 100) AS INTEGER) + 24) / 25",
    "INSERT INTO rollup_state (name, watermark, refreshed_at) "
    "SELECT 'filing', max(updated_at), NULL FROM filing",
]


def _key(name: str, length: int | None = None) -> sa.Column:
    kind = sqlmodel.sql.sqltypes.AutoString(length=length) if length else sa.Integer()
    return sa.Column(name, kind, nullable=False)


def upgrade() -> None:
    op.create_table(
        "filing_rollup",
        _key("jurisdiction_code", 32),
        _key("month"),
        _key("category", 10),
        sa.Column("situation_mask", sa.BigInteger(), nullable=False),
        _key("status", 30),
        _key("filings"),
        _key("accepted"),
        sa.PrimaryKeyConstraint("jurisdiction_code", "month", "category", "situation_mask", "status"),
    )
    op.create_table(
        "filing_unit_rollup",
        _key("jurisdiction_code", 32),
        _key("month"),
        _key("unit_code", 32),
        _key("status", 30),
        _key("filings"),
        _key("accepted"),
        sa.PrimaryKeyConstraint("jurisdiction_code", "month", "unit_code", "status"),
    )
    op.create_table(
        "filing_review_rollup",
        _key("jurisdiction_code", 32),
        _key("month"),
        _key("bucket"),
        _key("decided"),
        _key("late"),
        sa.PrimaryKeyConstraint("jurisdiction_code", "month", "bucket"),
    )
    op.create_table(
        "rollup_state",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("watermark", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    if op.get_bind().dialect.name == "sqlite":
        # No INCLUDE in SQLite: key columns make the index covering.
        op.create_index("ix_filing_updated", "filing", ["updated_at", "jurisdiction_code", "submitted_month"])
        # (ix_filing_stats_hours of 0007 already serves the median on SQLite.)
    else:
        op.create_index(
            "ix_filing_updated",
            "filing",
            ["updated_at"],
            postgresql_include=["jurisdiction_code", "submitted_month"],
        )
        op.create_index(
            "ix_filing_review_hours",
            "filing",
            ["review_work_hours"],
            postgresql_include=["jurisdiction_code", "submitted_at"],
            postgresql_where=sa.text("review_work_hours IS NOT NULL"),
        )
    for statement in FILL:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_index("ix_filing_review_hours", table_name="filing")
    op.drop_index("ix_filing_updated", table_name="filing")
    for table in ("rollup_state", "filing_review_rollup", "filing_unit_rollup", "filing_rollup"):
        op.drop_table(table)
