"""comment reports, feed tokens, thread approval

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Threads that exist already were never held back: they start approved.
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))

    op.create_table(
        "comment_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("handled_by", sa.String(length=64), nullable=False),
        sa.Column("handled", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["thread_id"], ["threads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("comment_reports", schema=None) as batch_op:
        batch_op.create_index("ix_comment_reports_comment", ["comment_id"], unique=False)
        batch_op.create_index("ix_comment_reports_status", ["status", "id"], unique=False)

    op.create_table(
        "feed_tokens",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("feed_tokens")
    with op.batch_alter_table("comment_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_comment_reports_status")
        batch_op.drop_index("ix_comment_reports_comment")
    op.drop_table("comment_reports")
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_column("approved")
