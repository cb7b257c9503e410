"""The SQL database: users, tokens and the derived page catalog (SQLAlchemy 2, Alembic).

The one module that builds engines and sessions. SQLite gets WAL and a busy timeout so
several worker processes can write; PostgreSQL works through the same URL setting.
"""

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and hands them back aware (SQLite forgets the zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    role: Mapped[str] = mapped_column(String(16), default="editor")
    language: Mapped[str] = mapped_column(String(8), default="")
    # Bumped on logout-everywhere and password change; sessions carry it and die when it moves.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Token(Base):
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SetupToken(Base):
    """One-time link that lets the first admin choose a password."""

    __tablename__ = "setup_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Group(Base):
    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64), unique=True)


class GroupMember(Base):
    __tablename__ = "group_members"
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)


class AclRule(Base):
    """Who may read and write pages under a prefix (a namespace or one page)."""

    __tablename__ = "acl_rules"
    prefix_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(300))
    read: Mapped[str] = mapped_column(Text, default="")  # comma separated principals
    write: Mapped[str] = mapped_column(Text, default="")


class AuditEvent(Base):
    """Who changed permissions, users, tokens, or deleted or renamed pages."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class Push(Base):
    """Who pushed a commit with git (wiki/gitserve.py after_push). Not derived: git records
    only the author a pusher chose, so this is the one place the pusher is kept. `own` says
    whether the commit's author address was the pusher's (their wiki address or email)."""

    __tablename__ = "pushes"
    commit: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    own: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- discussions and notifications (wiki/discussions.py, wiki/notify.py) ---------------------

class Thread(Base):
    """A discussion about a page; `page_key`/`page_name` follow the page when it is renamed."""

    __tablename__ = "threads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_key: Mapped[str] = mapped_column(String(300))
    page_name: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, resolved
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    author_name: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # False while it waits for a moderator (`thread_approval_prefixes`): only its author and
    # moderators see it; nobody is notified, nothing counts it, search skips it.
    approved: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (Index("ix_threads_page", "page_key", "id"),)


class Comment(Base):
    """One post of a thread; deleted and hidden comments keep their place (and replies)."""

    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    reply_to: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), nullable=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    author_name: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_reason: Mapped[str] = mapped_column(Text, default="")  # hidden when not empty
    hidden_by: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (Index("ix_comments_thread", "thread_id", "id"),)


class CommentRevision(Base):
    """An earlier text of an edited comment, kept for moderators."""

    __tablename__ = "comment_revisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"),
                                            index=True)
    body: Mapped[str] = mapped_column(Text)
    written: Mapped[datetime] = mapped_column(UTCDateTime)  # when this text was posted
    replaced: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentReport(Base):
    """A reader asks moderators to look at a comment; open until dismissed or acted on."""

    __tablename__ = "comment_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reporter_name: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # open, then dismissed, hidden or removed by a moderator
    status: Mapped[str] = mapped_column(String(16), default="open")
    handled_by: Mapped[str] = mapped_column(String(64), default="")
    handled: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_comment_reports_status", "status", "id"),
                      Index("ix_comment_reports_comment", "comment_id"))


class FeedToken(Base):
    """A user's secret for Atom feed links (SHA-256 of it): it reads feeds, nothing else."""

    __tablename__ = "feed_tokens"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Watch(Base):
    """A user follows a page (`namespace` False) or every page under a namespace."""

    __tablename__ = "watches"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    namespace: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)
    name: Mapped[str] = mapped_column(String(300))

    __table_args__ = (Index("ix_watches_key", "key"),)


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # mention, comment, edit
    page_key: Mapped[str] = mapped_column(String(300))
    page_name: Mapped[str] = mapped_column(String(300))
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), nullable=True)
    comment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(128), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    emailed: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_notifications_user", "user_id", "read", "id"),
                      Index("ix_notifications_mail", "emailed", "user_id"))


class NotifyPreference(Base):
    """How a user wants email: immediately (default), daily (a digest) or never."""

    __tablename__ = "notify_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    email: Mapped[str] = mapped_column(String(16), default="immediately")


class ReviewDefault(Base):
    """Issue 16: the owner and review interval of pages under a namespace that name none."""

    __tablename__ = "review_defaults"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(200), default="")
    review_every: Mapped[str] = mapped_column(String(64), default="")


class PageFlag(Base):
    """A reader's "this page is outdated or wrong"; open until the page changes."""

    __tablename__ = "page_flags"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_key: Mapped[str] = mapped_column(String(300))
    page_name: Mapped[str] = mapped_column(String(300))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                nullable=True)
    user_name: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by: Mapped[str] = mapped_column(String(256), default="")

    __table_args__ = (Index("ix_page_flags_open", "page_key", "closed"),)


class ReviewReminder(Base):
    """The last freshness state a page's owner was reminded of (so each reaches them once)."""

    __tablename__ = "review_reminders"
    page_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    review_by: Mapped[str] = mapped_column(String(16))
# --- agenda: events and their answers, short updates (wiki/events.py, wiki/updates.py) --------

class EventRow(Base):
    """An event of a namespace (`scope_kind` "namespace"; "" is the whole wiki) or of a page.

    `start`/`end` are UTC; `tz` is the zone its times were typed in, which repetitions keep
    (a weekly 09:00 stays 09:00 local across daylight-saving changes). All-day events run
    from local midnight of the first day to local midnight after the last."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope_key: Mapped[str] = mapped_column(String(300))
    scope_name: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(200))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    tz: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    recurrence: Mapped[str] = mapped_column(String(500), default="")  # an RRULE value
    exceptions: Mapped[str] = mapped_column(Text, default="")  # local dates, comma separated
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    agenda_page: Mapped[str] = mapped_column(String(300), default="")
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    author_name: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_events_scope", "scope_key", "start"),
                      Index("ix_events_agenda", "agenda_page"))


class EventAnswer(Base):
    """One person's RSVP to an event (all its occurrences): yes, maybe or no."""

    __tablename__ = "event_answers"
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"),
                                          primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(String(8))
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UpdateRow(Base):
    """A short post to the whole wiki (`namespace` "") or to a namespace; replies point to
    their post (one level). Deleted posts keep their place for their replies."""

    __tablename__ = "updates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace_key: Mapped[str] = mapped_column(String(300), default="")
    namespace: Mapped[str] = mapped_column(String(300), default="")
    reply_to: Mapped[int | None] = mapped_column(ForeignKey("updates.id"), nullable=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    author_name: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_updates_namespace", "namespace_key", "id"),
                      Index("ix_updates_reply", "reply_to", "id"))


class UpdateTag(Base):
    __tablename__ = "update_tags"
    update_id: Mapped[int] = mapped_column(ForeignKey("updates.id", ondelete="CASCADE"),
                                           primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)

    __table_args__ = (Index("ix_update_tags_tag", "tag"),)


class UpdateLike(Base):
    __tablename__ = "update_likes"
    update_id: Mapped[int] = mapped_column(ForeignKey("updates.id", ondelete="CASCADE"),
                                           primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)


# --- derived data: rebuilt from git by `wiki reindex`, never edited by hand -------------------

class State(Base):
    __tablename__ = "derived_state"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class PageRow(Base):
    __tablename__ = "derived_pages"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    blob: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(Text, default="")  # space separated
    lang: Mapped[str] = mapped_column(String(8), default="")
    revision: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(256), default="")
    author_email: Mapped[str] = mapped_column(String(256), default="")
    updated: Mapped[datetime] = mapped_column(UTCDateTime)


class RevisionRow(Base):
    """One line of a page's history; `page_key` follows renames, `path` is the file then."""

    __tablename__ = "derived_revisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_key: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(String(300))
    revision: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create, edit, delete, rename
    old_path: Mapped[str] = mapped_column(String(300), default="")
    old_key: Mapped[str] = mapped_column(String(300), default="")  # for old-name redirects
    author_name: Mapped[str] = mapped_column(String(256), default="")
    author_email: Mapped[str] = mapped_column(String(256), default="")
    date: Mapped[datetime] = mapped_column(UTCDateTime)
    message: Mapped[str] = mapped_column(Text, default="")
    seq: Mapped[int] = mapped_column(Integer)  # order of catch-up, newest highest

    __table_args__ = (
        Index("ix_revisions_page", "page_key", "seq"),
        Index("ix_revisions_seq", "seq"),
        Index("ix_revisions_old_key", "old_key"),
    )


class LinkRow(Base):
    __tablename__ = "derived_links"
    source_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    target_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    target_name: Mapped[str] = mapped_column(String(300))

    __table_args__ = (Index("ix_links_target", "target_key"),)


class TagRow(Base):
    __tablename__ = "derived_tags"
    page_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)

    __table_args__ = (Index("ix_tags_tag", "tag"),)


class FreshnessRow(Base):
    """Issue 16: a page's owner, interval and last verification as its front matter says."""

    __tablename__ = "derived_freshness"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(200), default="")
    review_every: Mapped[str] = mapped_column(String(64), default="")
    verified_by: Mapped[str] = mapped_column(String(64), default="")
    verified_on: Mapped[str] = mapped_column(String(16), default="")
    updated: Mapped[datetime] = mapped_column(UTCDateTime)


DERIVED_TABLES = (State, PageRow, RevisionRow, LinkRow, TagRow)


_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)


class Database:
    def __init__(self, url: str, stamp_dir: Path | None = None):
        self.url = url
        is_sqlite = url.startswith("sqlite")
        self.engine = create_engine(
            url,
            connect_args={"timeout": 30} if is_sqlite else {},
            pool_pre_ping=not is_sqlite,
        )
        if is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._stamp_dir = stamp_dir
        self._topics: dict[str, str] = {}  # table -> topic
        self._written = threading.local()  # topics written in this thread's transaction

    # --- change stamps ---------------------------------------------------------------------------
    # Counts shown on every page view (threads of a page, unread notifications) are kept per
    # process and must notice writes from every worker. Any committed INSERT/UPDATE/DELETE
    # on a watched table touches the topic's stamp file; readers compare its mtime.

    def watch(self, topic: str, tables: set[str]) -> None:
        if not self._topics:
            event.listen(self.engine, "after_cursor_execute", self._noted)
            event.listen(self.engine, "rollback", self._rolled_back)
        for table in tables:
            self._topics[table] = topic

    def version(self, topic: str) -> int:
        """Changes whenever a write to the topic's tables was committed (by any process)."""
        if self._stamp_dir is None:
            return 0
        try:
            return (self._stamp_dir / f"{topic}.stamp").stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def _noted(self, conn, cursor, statement, parameters, context, executemany):
        match = _WRITE.match(statement)
        topic = match and self._topics.get(match.group(1).lower())
        if topic:
            self._written.__dict__.setdefault("topics", set()).add(topic)

    def _rolled_back(self, conn):
        self._written.__dict__.pop("topics", None)

    def _touch_written(self) -> None:
        # Only after the commit: a reader that sees the new stamp must also see the new rows.
        for topic in self._written.__dict__.pop("topics", ()):
            if self._stamp_dir is not None:
                stamp = self._stamp_dir / f"{topic}.stamp"
                stamp.touch()
                os.utime(stamp)  # touch() alone keeps the mtime on some file systems

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on an error."""
        with self._sessions() as session, session.begin():
            yield session
        self._touch_written()

    def upgrade(self) -> None:
        """Create or migrate the schema to the newest Alembic revision."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        engine = self.engine
        if self.url.startswith("sqlite"):
            # SQLite alters a table by copying it, dropping the old one and renaming the copy;
            # with foreign keys on, dropping `threads` would cascade and delete every comment.
            # The pragma is ignored inside a transaction, so it is set on connect.
            engine = create_engine(self.url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _migration_pragmas)
        try:
            with engine.begin() as connection:
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
                if self.url.startswith("sqlite"):
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if engine is not self.engine:
                engine.dispose()

    def dispose(self) -> None:
        self.engine.dispose()


def _migration_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
