"""return visits and closing filings

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "return_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("cadre_user_id", sa.Integer(), nullable=False),
        sa.Column("officer_user_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("questionnaire", sa.JSON(), nullable=False),
        sa.Column("questionnaire_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("visited_on", sa.Date(), nullable=True),
        sa.Column("form", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("next_step", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cadre_user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["filing_id"],
            ["filing.id"],
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_code"],
            ["org_unit.code"],
        ),
        sa.ForeignKeyConstraint(
            ["officer_user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["tolerance_review.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id", "seq", name="uq_return_visit_seq"),
    )
    with op.batch_alter_table("return_visit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_visit_cadre_user_id"), ["cadre_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_return_visit_filing_id"), ["filing_id"], unique=False)
        batch_op.create_index("ix_return_visit_officer_status", ["officer_user_id", "status"], unique=False)

    with op.batch_alter_table("filing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("filing", schema=None) as batch_op:
        batch_op.drop_column("closed_at")

    with op.batch_alter_table("return_visit", schema=None) as batch_op:
        batch_op.drop_index("ix_return_visit_officer_status")
        batch_op.drop_index(batch_op.f("ix_return_visit_filing_id"))
        batch_op.drop_index(batch_op.f("ix_return_visit_cadre_user_id"))

    op.drop_table("return_visit")
