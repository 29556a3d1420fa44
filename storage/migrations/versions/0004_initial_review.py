"""initial review

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "filing_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["filing_id"],
            ["filing.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("filing_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_filing_message_filing_id"), ["filing_id"], unique=False)

    with op.batch_alter_table("filing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reviewed_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("risk_colour", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(
            sa.Column("decision_number", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True)
        )
        batch_op.add_column(sa.Column("decision_seq", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            "uq_filing_decision_parts", ["jurisdiction_code", "year", "decision_seq"]
        )
        batch_op.create_unique_constraint("uq_filing_decision_number", ["decision_number"])
        batch_op.create_foreign_key("fk_filing_reviewed_by", "app_user", ["reviewed_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("filing", schema=None) as batch_op:
        batch_op.drop_constraint("fk_filing_reviewed_by", type_="foreignkey")
        batch_op.drop_constraint("uq_filing_decision_number", type_="unique")
        batch_op.drop_constraint("uq_filing_decision_parts", type_="unique")
        batch_op.drop_column("decision_seq")
        batch_op.drop_column("decision_number")
        batch_op.drop_column("risk_colour")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("reviewed_at")

    with op.batch_alter_table("filing_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_filing_message_filing_id"))

    op.drop_table("filing_message")
