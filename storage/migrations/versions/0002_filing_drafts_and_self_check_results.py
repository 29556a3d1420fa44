"""filing drafts and self-check results

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_snapshot",
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("policy_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("content", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("first_seen_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "selfcheck_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("policy_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("policy_version", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("saved", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["policy_snapshot.version"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("selfcheck_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_selfcheck_result_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("filing", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("draft_key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch_op.add_column(sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("filer_kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(
            sa.Column("review_due_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("withdrawn_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("selfcheck_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_filing_draft_key", ["draft_key"])
        batch_op.create_foreign_key("fk_filing_selfcheck", "selfcheck_result", ["selfcheck_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("filing", schema=None) as batch_op:
        batch_op.drop_constraint("fk_filing_selfcheck", type_="foreignkey")
        batch_op.drop_constraint("uq_filing_draft_key", type_="unique")
        batch_op.drop_column("selfcheck_id")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("review_due_at")
        batch_op.drop_column("filer_kind")
        batch_op.drop_column("category")
        batch_op.drop_column("draft_key")

    with op.batch_alter_table("selfcheck_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_selfcheck_result_user_id"))

    op.drop_table("selfcheck_result")
    op.drop_table("policy_snapshot")
