"""agenda: events, their answers (RSVP), short updates with tags and likes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_key", sa.String(length=300), nullable=False),
        sa.Column("scope_name", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("recurrence", sa.String(length=500), nullable=False),
        sa.Column("exceptions", sa.Text(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("agenda_page", sa.String(length=300), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=64), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_scope", ["scope_key", "start"], unique=False)
        batch_op.create_index("ix_events_agenda", ["agenda_page"], unique=False)
    op.create_table(
        "event_answers",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", "user_id"),
    )
    op.create_table(
        "updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_key", sa.String(length=300), nullable=False),
        sa.Column("namespace", sa.String(length=300), nullable=False),
        sa.Column("reply_to", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("edited", sa.DateTime(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["reply_to"], ["updates.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("updates", schema=None) as batch_op:
        batch_op.create_index("ix_updates_namespace", ["namespace_key", "id"], unique=False)
        batch_op.create_index("ix_updates_reply", ["reply_to", "id"], unique=False)
    op.create_table(
        "update_tags",
        sa.Column("update_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["update_id"], ["updates.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("update_id", "tag"),
    )
    with op.batch_alter_table("update_tags", schema=None) as batch_op:
        batch_op.create_index("ix_update_tags_tag", ["tag"], unique=False)
    op.create_table(
        "update_likes",
        sa.Column("update_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["update_id"], ["updates.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("update_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("update_likes")
    with op.batch_alter_table("update_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_update_tags_tag")
    op.drop_table("update_tags")
    with op.batch_alter_table("updates", schema=None) as batch_op:
        batch_op.drop_index("ix_updates_reply")
        batch_op.drop_index("ix_updates_namespace")
    op.drop_table("updates")
    op.drop_table("event_answers")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_agenda")
        batch_op.drop_index("ix_events_scope")
    op.drop_table("events")
