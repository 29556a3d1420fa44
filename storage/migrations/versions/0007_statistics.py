"""statistics: what the aggregations need, stored at write time, and their indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

Adds filing.submitted_month / review_work_hours / review_late / situation_mask,
rectification_item.jurisdiction_code and tolerance_review.advisory_verdict, and fills them for what
is already stored: the first initial-review decision is read from the audit log (reviewed_at is
overwritten when a returned filing is decided again).
"""

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types
from bot.workdays import WorkCalendar

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATS_INCLUDE = [
    "submitted_month",
    "category",
    "unit_code",
    "status",
    "situation_mask",
    "decision_seq",
    "review_work_hours",
    "review_late",
]
FIRST_DECISIONS = ("filing.accepted", "filing.not_accepted", "filing.returned")


def upgrade() -> None:
    with op.batch_alter_table("filing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_month", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("review_work_hours", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("review_late", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("situation_mask", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("rectification_item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("jurisdiction_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
    with op.batch_alter_table("tolerance_review", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("advisory_verdict", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )
    _backfill()
    op.execute(
        "UPDATE rectification_item SET jurisdiction_code = "
        "(SELECT f.jurisdiction_code FROM filing f WHERE f.id = rectification_item.filing_id)"
    )
    op.execute(
        "UPDATE tolerance_review SET advisory_verdict = "
        "(SELECT s.verdict FROM filing f JOIN selfcheck_result s ON s.id = f.selfcheck_id "
        "WHERE f.id = tolerance_review.filing_id) WHERE outcome IS NOT NULL"
    )
    _create_indexes()


# (name, table, columns, options); see the models for what each is for.
INDEXES: list[tuple[str, str, list[str], dict[str, object]]] = [
    (
        "ix_filing_awaiting_review",
        "filing",
        ["review_due_at", "jurisdiction_code", "submitted_at", "review_work_hours"],
        {"where": "status = 'submitted'"},
    ),
    ("ix_review_stats_opened", "tolerance_review", ["jurisdiction_code", "opened_at", "source"], {}),
    (
        "ix_review_stats_decided",
        "tolerance_review",
        ["jurisdiction_code", "decided_at", "outcome", "advisory_verdict"],
        {},
    ),
    (
        "ix_rectification_stats",
        "rectification_item",
        ["status", "extended", "jurisdiction_code", "created_at", "due_date", "accepted_at"],
        {},
    ),
    ("ix_return_visit_stats", "return_visit", ["jurisdiction_code", "due_date", "status", "visited_on"], {}),
]
# SQLite has no GROUPING SETS and no hash aggregation: each GROUP BY of the filings streams through
# an index in its own order instead of sorting every row.
SQLITE_INDEXES: list[tuple[str, str, list[str]] | tuple[str, str, list[str], str]] = [
    (
        "ix_filing_stats_month",
        "filing",
        [
            "submitted_month",
            "category",
            "status",
            "situation_mask",
            "decision_seq",
            "jurisdiction_code",
            "submitted_at",
        ],
    ),
    (
        "ix_filing_stats_unit",
        "filing",
        ["unit_code", "status", "decision_seq", "jurisdiction_code", "submitted_at"],
    ),
    # Partial: otherwise SQLite's planner, which cannot see how many hours are NULL, would look
    # up the filings awaiting review through it instead of through ix_filing_awaiting_review.
    (
        "ix_filing_stats_hours",
        "filing",
        ["review_work_hours", "review_late", "jurisdiction_code", "submitted_at"],
        "review_work_hours IS NOT NULL",
    ),
]


def _create_indexes() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # No INCLUDE in SQLite: the same columns as key columns make the index covering too.
        op.create_index("ix_filing_stats", "filing", ["jurisdiction_code", "submitted_at", *STATS_INCLUDE])
    else:
        # Index-only scans: the aggregations read nothing but this index (VACUUM keeps it so).
        op.create_index(
            "ix_filing_stats",
            "filing",
            ["jurisdiction_code", "submitted_at"],
            postgresql_include=STATS_INCLUDE,
        )
    for name, table, columns, options in INDEXES:
        where = sa.text(str(options["where"])) if "where" in options else None
        op.create_index(name, table, columns, postgresql_where=where, sqlite_where=where)
    if sqlite:
        for name, table, columns, *where in SQLITE_INDEXES:
            op.create_index(name, table, columns, sqlite_where=sa.text(where[0]) if where else None)


def _backfill() -> None:
    bind = op.get_bind()
    tz = ZoneInfo(os.environ.get("RONGCUO_TIMEZONE") or "Asia/Shanghai")
    overrides = os.environ.get("RONGCUO_WORKDAY_OVERRIDES")
    calendar = WorkCalendar(Path(overrides) if overrides else None)
    when = storage.types.UTCDateTime()
    filing = sa.table(
        "filing",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("jurisdiction_code", sa.String()),
        sa.column("answers", sa.JSON()),
        sa.column("submitted_at", when),
        sa.column("reviewed_at", when),
        sa.column("submitted_month", sa.Integer()),
        sa.column("review_work_hours", sa.Float()),
        sa.column("review_late", sa.Boolean()),
        sa.column("situation_mask", sa.BigInteger()),
    )
    audit = sa.table(
        "audit_log",
        sa.column("at", when),
        sa.column("action", sa.String()),
        sa.column("subject_type", sa.String()),
        sa.column("subject_id", sa.String()),
    )
    first_decision: dict[int, datetime] = {}
    for subject_id, at in bind.execute(
        sa.select(audit.c.subject_id, sa.func.min(audit.c.at))
        .where(audit.c.subject_type == "filing", audit.c.action.in_(FIRST_DECISIONS))
        .group_by(audit.c.subject_id)
    ):
        if str(subject_id).isdigit() and at is not None:
            first_decision[int(subject_id)] = at
    rows = bind.execute(
        sa.select(
            filing.c.id,
            filing.c.status,
            filing.c.jurisdiction_code,
            filing.c.answers,
            filing.c.submitted_at,
            filing.c.reviewed_at,
        ).where(filing.c.status != "draft", filing.c.submitted_at.is_not(None))
    ).all()
    for filing_id, _status, _jurisdiction, answers, submitted_at, reviewed_at in rows:
        local = submitted_at.astimezone(tz)
        values: dict[str, object] = {
            "submitted_month": local.year * 100 + local.month,
            "situation_mask": _situation_mask((answers or {}).get("situations") or []),
        }
        decided_at = first_decision.get(filing_id, reviewed_at)
        if decided_at is not None:
            values["review_work_hours"] = round(calendar.work_hours_between(submitted_at, decided_at, tz), 2)
            values["review_late"] = decided_at > calendar.initial_review_due(submitted_at, tz)
        bind.execute(sa.update(filing).where(filing.c.id == filing_id).values(**values))


def _situation_mask(situations: list[object]) -> int:
    # As storage/models/filing.py situation_mask (kept here so this migration never changes).
    mask = 0
    for situation in situations:
        number = str(situation)[1:] if str(situation)[:1] == "S" else ""
        if number.isdigit() and 1 <= int(number) <= 63:
            mask |= 1 << (int(number) - 1)
    return mask


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, table, *_ in reversed(SQLITE_INDEXES):
            op.drop_index(name, table_name=table)
    for name, table, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("tolerance_review", schema=None) as batch_op:
        batch_op.drop_column("advisory_verdict")
    with op.batch_alter_table("rectification_item", schema=None) as batch_op:
        batch_op.drop_column("jurisdiction_code")
    op.drop_index("ix_filing_stats", table_name="filing")
    with op.batch_alter_table("filing", schema=None) as batch_op:
        batch_op.drop_column("situation_mask")
        batch_op.drop_column("review_late")
        batch_op.drop_column("review_work_hours")
        batch_op.drop_column("submitted_month")
