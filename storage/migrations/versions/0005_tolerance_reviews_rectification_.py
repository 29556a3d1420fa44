"""tolerance reviews, rectification, jurisdiction settings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jurisdiction_setting",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("group_chat_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("lead_officer_id", sa.Integer(), nullable=True),
        sa.Column("digest_sent_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["org_unit.code"],
        ),
        sa.ForeignKeyConstraint(
            ["lead_officer_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "tolerance_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("team", sa.JSON(), nullable=False),
        sa.Column("findings", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("meeting_date", sa.Date(), nullable=True),
        sa.Column("meeting_decision", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("decision_number", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("decision_seq", sa.Integer(), nullable=True),
        sa.Column("opened_by", sa.Integer(), nullable=False),
        sa.Column("opened_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["filing_id"],
            ["filing.id"],
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_code"],
            ["org_unit.code"],
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("decision_number"),
        sa.UniqueConstraint("jurisdiction_code", "year", "decision_seq", name="uq_review_decision_parts"),
    )
    with op.batch_alter_table("tolerance_review", schema=None) as batch_op:
        batch_op.create_index("ix_review_jurisdiction_status", ["jurisdiction_code", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_tolerance_review_filing_id"), ["filing_id"], unique=False)

    op.create_table(
        "rectification_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filing_id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("item_no", sa.Integer(), nullable=False),
        sa.Column("problem", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("measure", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("original_due_date", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("evidence_text", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("officer_note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["filing_id"],
            ["filing.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["tolerance_review.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("filing_id", "item_no", name="uq_rectification_item_no"),
    )
    with op.batch_alter_table("rectification_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rectification_item_filing_id"), ["filing_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_rectification_item_owner_user_id"), ["owner_user_id"], unique=False
        )
        batch_op.create_index("ix_rectification_status_due", ["status", "due_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rectification_item", schema=None) as batch_op:
        batch_op.drop_index("ix_rectification_status_due")
        batch_op.drop_index(batch_op.f("ix_rectification_item_owner_user_id"))
        batch_op.drop_index(batch_op.f("ix_rectification_item_filing_id"))

    op.drop_table("rectification_item")
    with op.batch_alter_table("tolerance_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tolerance_review_filing_id"))
        batch_op.drop_index("ix_review_jurisdiction_status")

    op.drop_table("tolerance_review")
    op.drop_table("jurisdiction_setting")
