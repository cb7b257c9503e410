"""page owners, review defaults, flags, reminders (issue 16)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_defaults",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("prefix", sa.String(length=300), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("review_every", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "page_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_key", sa.String(length=300), nullable=False),
        sa.Column("page_name", sa.String(length=300), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("closed", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("page_flags", schema=None) as batch_op:
        batch_op.create_index("ix_page_flags_open", ["page_key", "closed"], unique=False)
    op.create_table(
        "review_reminders",
        sa.Column("page_key", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("review_by", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("page_key"),
    )
    # Derived from git: filled by the first use after the upgrade (wiki/freshness.py).
    op.create_table(
        "derived_freshness",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("review_every", sa.String(length=64), nullable=False),
        sa.Column("verified_by", sa.String(length=64), nullable=False),
        sa.Column("verified_on", sa.String(length=16), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("derived_freshness")
    op.drop_table("review_reminders")
    with op.batch_alter_table("page_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_page_flags_open")
    op.drop_table("page_flags")
    op.drop_table("review_defaults")
