"""Discussion threads on pages: start, reply, edit, delete, resolve, lock, hide; activity.

Plain values in, dataclasses out; no Flask. Every use case asks `Permissions` about the page
the thread belongs to, so a page a user may not read hides its threads exactly like a
missing page. Who may do what:

- read a thread: whoever may read its page;
- start a thread or reply: a logged-in account that may read the page (readers included:
  talking about a page is not changing it);
- edit a comment: its author; delete it: its author or a moderator;
- resolve or reopen a thread: its author or anyone who may write the page;
- moderate (lock a thread, hide a comment with a reason, see earlier texts, handle reports,
  approve held-back threads): anyone who may write the page;
- report a comment to the moderators: anyone logged in who may read the page.

In the namespaces named by `thread_approval_prefixes` a new thread waits for a moderator
(unless a moderator started it): until approved only its author and the page's moderators
see it, nothing counts it, search leaves it out and nobody is notified; approving it sends
the notifications (mentions included) that starting it would have sent.

Threads are keyed by the page key and keep the display name; `follow_renames` (a catalog
listener) moves them when their page is renamed. When the page is deleted they stay readable
but take no new comments. Each write is one short transaction, so several worker processes
can post at once (SQLite WAL with a busy timeout, see wiki/db.py).
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select, update

from wiki import paths
from wiki.acl import Acl
from wiki.catalog import Catalog, PageChange
from wiki.db import (
    Comment,
    CommentReport,
    CommentRevision,
    Database,
    Notification,
    PageRow,
    Thread,
    User,
    Watch,
    utcnow,
)
from wiki.errors import (
    InvalidInput,
    NotFound,
    PageNotFound,
    PageTooLarge,
    PermissionDenied,
    Unauthorized,
    WikiError,
)
from wiki.permissions import Permissions
from wiki.render import Renderer
from wiki.users import Account

MAX_TITLE_CHARS = 200
MAX_REASON_CHARS = 500
_MENTION = re.compile(r"(?<![\w@/.])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})")
_TAG = re.compile(r"(<[^>]*>)")
_SKIP_TAG = re.compile(r"<(/?)(?:code|pre|a)\b", re.IGNORECASE)


# A comment that counts and is shown to readers: neither removed nor hidden.
_SHOWN = Comment.deleted.is_(False) & (Comment.hidden_reason == "")


class ThreadNotFound(NotFound):
    """This discussion does not exist."""


class CommentNotFound(NotFound):
    """This comment does not exist."""


class DiscussionClosed(WikiError):
    """This discussion takes no new comments."""

    status = 409
    code = "closed"


class CommentTooLarge(PageTooLarge):
    """The comment is too long."""


@dataclass(frozen=True)
class CommentView:
    id: int
    thread_id: int
    author: str
    body: str  # empty when deleted or hidden (unless the viewer moderates)
    html: str
    created: datetime
    edited: datetime | None
    reply_to: int | None
    reply_to_author: str
    deleted: bool
    hidden: bool
    hidden_reason: str  # only for moderators
    may_edit: bool = False
    may_delete: bool = False
    may_report: bool = False


@dataclass(frozen=True)
class ThreadView:
    id: int
    page_name: str
    title: str
    status: str
    locked: bool
    author: str
    created: datetime
    updated: datetime
    comment_count: int
    page_exists: bool
    comments: tuple[CommentView, ...] = ()
    may_resolve: bool = False
    may_moderate: bool = False
    may_reply: bool = False
    pending: bool = False  # waits for a moderator's approval


@dataclass(frozen=True)
class Activity:
    """One line of the activity stream: a page edit or a comment."""

    kind: str  # create, edit, delete, rename, comment, push
    page_name: str
    author: str
    date: datetime
    summary: str
    revision: str = ""
    thread_id: int | None = None
    comment_id: int | None = None
    pushed_by: str = ""  # an edit pushed with git by someone else than its author


@dataclass(frozen=True)
class ThreadDocument:
    """What search indexes for a thread (kind `discussion`)."""

    id: int
    page_name: str
    title: str
    text: str
    updated: datetime


@dataclass(frozen=True)
class ReportView:
    """An open report as moderators see it, with the comment it is about."""

    id: int
    thread_id: int
    thread_title: str
    page_name: str
    comment: CommentView
    reporter: str
    reason: str
    created: datetime


@dataclass
class PostResult:
    thread: ThreadView
    comment: CommentView
    mentioned: list[str] = field(default_factory=list)


def mark_mentions(html: str) -> str:
    """Wrap `@name` in sanitized comment HTML in `<span class="mention">` (not inside code,
    preformatted text or links). Only text between tags changes, and a name is letters,
    digits and `._-`, so the markup stays as safe as the sanitizer left it."""
    parts = _TAG.split(html)
    inside = 0
    for i, part in enumerate(parts):
        if i % 2:  # a tag
            match = _SKIP_TAG.match(part)
            if match:
                inside += -1 if match.group(1) else 1
                inside = max(inside, 0)
        elif not inside and "@" in part:
            parts[i] = _MENTION.sub(_mention_span, part)
    return "".join(parts)


def _mention_span(match: re.Match) -> str:
    name = match.group(1).rstrip(".")  # "Thanks @bob." mentions bob
    return f'<span class="mention">@{name}</span>{match.group(1)[len(name):]}'


def mentions(text: str) -> list[str]:
    """User names written as `@name` in a comment, in order, without repeats."""
    seen: dict[str, str] = {}
    for match in _MENTION.finditer(text or ""):
        seen.setdefault(match.group(1).lower().rstrip("."), match.group(1).rstrip("."))
    return list(seen.values())


class Discussions:
    def __init__(self, db: Database, catalog: Catalog, renderer: Renderer,
                 permissions: Permissions, acl: Acl, max_comment_chars: int = 20_000,
                 approval_prefixes: str = ""):
        self.db = db
        self.catalog = catalog
        self.renderer = renderer
        self.permissions = permissions
        self.acl = acl
        self.max_comment_chars = max_comment_chars
        self.approval_keys = tuple(paths.key(p.strip().strip("/"))
                                   for p in (approval_prefixes or "").split(",")
                                   if p.strip().strip("/"))
        self._counts: dict[str, int] = {}
        self._counts_version: int | None = None
        # Called with (thread_id, page_name or None) after a thread or its comments change:
        # the search index (issue 4) can re-index it from `thread_document(thread_id)`.
        self.listeners: list[Callable[[int, str | None], None]] = []
        # Called with (account, thread view, comment view, mentioned names) after a post.
        self.on_post: list[Callable[[Account, ThreadView, CommentView, list[str]], None]] = []
        # Called with (kind "report" or "pending", actor name, thread view, comment id) when
        # moderators have something to look at.
        self.on_moderation: list[Callable[[str, str, ThreadView, int | None], None]] = []

    # --- checks ------------------------------------------------------------------------------

    def _body(self, body) -> str:
        if not isinstance(body, str) or "\x00" in body:
            raise InvalidInput("A comment must be text.")
        body = body.replace("\r\n", "\n").replace("\r", "\n").strip()
        if not body:
            raise InvalidInput("A comment cannot be empty.")
        if len(body) > self.max_comment_chars:
            raise CommentTooLarge(f"A comment can be at most {self.max_comment_chars:,} "
                                  f"characters; this one has {len(body):,}.")
        return body

    @staticmethod
    def _title(title) -> str:
        title = " ".join(title.split()) if isinstance(title, str) else ""
        if not title:
            raise InvalidInput("A discussion needs a title.")
        if len(title) > MAX_TITLE_CHARS:
            raise InvalidInput(f"A title can be at most {MAX_TITLE_CHARS} characters.")
        return title

    def _require_participant(self, account: Account, page_name: str) -> None:
        self.permissions.require_read(account, page_name)
        if account.is_anonymous:
            raise Unauthorized("Log in to take part in discussions.")

    def may_moderate(self, account: Account, page_name: str) -> bool:
        return self.permissions.can_write(account, page_name)

    def needs_approval(self, page_name: str) -> bool:
        """Whether a new thread on this page waits for a moderator (`HR` covers `HR/…`)."""
        key = paths.key(page_name)
        return any(key == p or key.startswith(p + "/") for p in self.approval_keys)

    def _sees(self, account: Account, row: Thread) -> bool:
        """A held-back thread is seen by its author and the page's moderators only."""
        return row.approved or (account.id is not None and account.id == row.author_id) \
            or self.may_moderate(account, row.page_name)

    def _thread_row(self, s, account: Account, thread_id) -> Thread:
        """The thread, or ThreadNotFound when absent or on a page the account may not read."""
        # A visitor who must log in anyway learns nothing about which thread ids exist.
        self.permissions.require_read(account)
        if not _valid_id(thread_id):
            raise ThreadNotFound()
        row = s.get(Thread, thread_id)
        if row is None:
            self.permissions.refuse_unseen(account)  # visitors: as for a hidden one
            raise ThreadNotFound()
        self.permissions.require_read(account, row.page_name)
        if not self._sees(account, row):
            raise ThreadNotFound()
        return row

    def _comment_row(self, s, account: Account, comment_id) -> tuple[Comment, Thread]:
        if not _valid_id(comment_id):
            raise CommentNotFound()
        comment = s.get(Comment, comment_id)
        if comment is None:
            self.permissions.refuse_unseen(account)  # as for a comment on a hidden page
            raise CommentNotFound()
        try:
            thread = self._thread_row(s, account, comment.thread_id)
        except ThreadNotFound:
            raise CommentNotFound() from None
        return comment, thread

    def _page_exists(self, name: str) -> bool:
        self.catalog.ensure_current()
        return self.catalog.page(name) is not None

    # --- reading -----------------------------------------------------------------------------

    def threads(self, account: Account, page: str) -> tuple[str, list[ThreadView]]:
        """The stored page name and its threads, newest activity first.

        A page that does not exist (any more) still shows the threads it had; a name with
        neither page nor threads, or one the account may not read, is PageNotFound.
        """
        name = paths.normalize(page)
        self.permissions.require_read(account, name)
        self.catalog.ensure_current()
        info = self.catalog.page(name)
        with self.db.session() as s:
            rows = [r for r in s.scalars(select(Thread).where(Thread.page_key == paths.key(name))
                                         .order_by(Thread.updated.desc(), Thread.id.desc()))
                    if self._sees(account, r)]
            counts = dict(s.execute(
                select(Comment.thread_id, func.count(Comment.id))
                .where(Comment.thread_id.in_([r.id for r in rows]), _SHOWN)
                .group_by(Comment.thread_id)).all()) if rows else {}
        if info is None and not rows:
            raise PageNotFound()
        shown = info.name if info else (rows[0].page_name if rows else name)
        return shown, [self._thread_view(account, r, counts.get(r.id, 0), info is not None)
                       for r in rows]

    def count(self, page: str) -> int:
        """How many threads a page has (the caller has checked that it may be read).

        Every page view asks, so answers are kept per process until any process writes to
        the threads table (the database's "threads" stamp)."""
        version = self.db.version("threads")
        if version != self._counts_version:
            self._counts, self._counts_version = {}, version
        key = paths.key(page)
        counts = self._counts
        if key not in counts:
            with self.db.engine.connect() as c:
                counts[key] = c.scalar(select(func.count(Thread.id))
                                       .where(Thread.page_key == key,
                                              Thread.approved.is_(True))) or 0
        return counts[key]

    def thread(self, account: Account, thread_id: int) -> ThreadView:
        with self.db.session() as s:
            row = self._thread_row(s, account, thread_id)
            comments = list(s.scalars(select(Comment).where(Comment.thread_id == row.id)
                                      .order_by(Comment.id)))
        exists = self._page_exists(row.page_name)
        moderator = self.may_moderate(account, row.page_name)
        authors = {c.id: c.author_name for c in comments}
        views = tuple(self._comment_view(account, c, authors, moderator) for c in comments)
        shown = sum(1 for c in comments if not c.deleted and not c.hidden_reason)
        return self._thread_view(account, row, shown, exists, views)

    def _thread_view(self, account: Account, row: Thread, count: int, exists: bool,
                     comments: tuple[CommentView, ...] = ()) -> ThreadView:
        moderator = self.may_moderate(account, row.page_name)
        mine = account.id is not None and account.id == row.author_id
        return ThreadView(
            id=row.id, page_name=row.page_name, title=row.title, status=row.status,
            locked=row.locked, author=row.author_name, created=row.created, updated=row.updated,
            comment_count=count, page_exists=exists, comments=comments,
            may_resolve=moderator or mine, may_moderate=moderator,
            may_reply=exists and not row.locked and not account.is_anonymous,
            pending=not row.approved)

    def _comment_view(self, account: Account, c: Comment, authors: dict[int, str],
                      moderator: bool) -> CommentView:
        hidden = bool(c.hidden_reason)
        mine = account.id is not None and account.id == c.author_id
        visible = not c.deleted and (not hidden or moderator)
        body = c.body if visible else ""
        return CommentView(
            id=c.id, thread_id=c.thread_id, author=c.author_name, body=body,
            html=mark_mentions(self.render(body)) if body else "", created=c.created,
            edited=c.edited,
            reply_to=c.reply_to, reply_to_author=authors.get(c.reply_to, "") if c.reply_to else "",
            deleted=c.deleted, hidden=hidden, hidden_reason=c.hidden_reason if moderator else "",
            may_edit=mine and not c.deleted and not hidden,
            may_delete=(mine or moderator) and not c.deleted,
            may_report=not account.is_anonymous and not mine and visible)

    def render(self, body: str) -> str:
        """Comment Markdown to sanitized HTML: the same pipeline as pages (no cache key)."""
        return self.renderer.render(body).html

    def comment(self, account: Account, comment_id: int) -> CommentView:
        """One comment as this account sees it (its thread must be readable)."""
        with self.db.session() as s:
            comment, thread = self._comment_row(s, account, comment_id)
            moderator = self.may_moderate(account, thread.page_name)
            return self._comment_view(account, comment, {}, moderator)

    def comment_history(self, account: Account, comment_id: int
                        ) -> tuple[CommentView, list[CommentRevision]]:
        """Earlier texts of a comment, newest first: for moderators only."""
        with self.db.session() as s:
            comment, thread = self._comment_row(s, account, comment_id)
            self._require_moderator(account, thread.page_name)
            revisions = list(s.scalars(select(CommentRevision)
                                       .where(CommentRevision.comment_id == comment.id)
                                       .order_by(CommentRevision.id.desc())))
            view = self._comment_view(account, comment, {}, True)
        return view, revisions

    def _require_moderator(self, account: Account, page_name: str) -> None:
        if not self.may_moderate(account, page_name):
            if account.is_anonymous:
                raise Unauthorized()
            raise PermissionDenied("Only editors of this page can moderate its discussions.")

    # --- writing -----------------------------------------------------------------------------

    def start(self, account: Account, page: str, title: str, body: str) -> PostResult:
        """Open a thread on an existing page with its first comment."""
        name = paths.normalize(page)
        self._require_participant(account, name)
        title, body = self._title(title), self._body(body)
        self.catalog.ensure_current()
        info = self.catalog.page(name)
        if info is None:
            raise PageNotFound()
        now = utcnow()
        approved = not self.needs_approval(info.name) or self.may_moderate(account, info.name)
        with self.db.session() as s:
            thread = Thread(page_key=info.key, page_name=info.name, title=title,
                            author_id=account.id, author_name=account.name, created=now,
                            updated=now, approved=approved)
            s.add(thread)
            s.flush()
            comment = Comment(thread_id=thread.id, author_id=account.id,
                              author_name=account.name, body=body, created=now)
            s.add(comment)
            s.flush()
            thread_view = self._thread_view(account, thread, 1, True)
            comment_view = self._comment_view(account, comment, {}, False)
        return self._posted(account, thread_view, comment_view, opening=True)

    def reply(self, account: Account, thread_id: int, body: str,
              reply_to: int | None = None) -> PostResult:
        body = self._body(body)
        if reply_to is not None and (not isinstance(reply_to, int) or isinstance(reply_to, bool)):
            raise InvalidInput("reply_to must be the id of a comment of this thread.")
        with self.db.session() as s:
            thread = self._thread_row(s, account, thread_id)
            self._require_participant(account, thread.page_name)
            if thread.locked:
                raise DiscussionClosed("This discussion is locked; it takes no new comments.")
            if not self._page_exists(thread.page_name):
                raise DiscussionClosed("The page of this discussion was deleted; "
                                       "its discussions can be read but take no new comments.")
            parent = None
            if reply_to is not None:
                parent = s.get(Comment, reply_to) if _valid_id(reply_to) else None
                if parent is None or parent.thread_id != thread.id:
                    raise InvalidInput("reply_to must be the id of a comment of this thread.")
                if parent.deleted:
                    raise DiscussionClosed("That comment was removed; reply to the thread instead.")
                if parent.reply_to is not None:  # one level of nesting: answer the same parent
                    reply_to = parent.reply_to
            now = utcnow()
            comment = Comment(thread_id=thread.id, reply_to=reply_to, author_id=account.id,
                              author_name=account.name, body=body, created=now)
            s.add(comment)
            s.execute(update(Thread).where(Thread.id == thread.id).values(updated=now))
            s.flush()
            count = s.scalar(select(func.count(Comment.id))
                             .where(Comment.thread_id == thread.id, _SHOWN)) or 0
            authors = {parent.id: parent.author_name} if parent else {}
            if parent and parent.id != reply_to:
                grand = s.get(Comment, reply_to) if _valid_id(reply_to) else None
                authors[reply_to] = grand.author_name if grand else ""
            thread_view = self._thread_view(account, thread, count, True)
            comment_view = self._comment_view(account, comment, authors, False)
        return self._posted(account, thread_view, comment_view)

    def _posted(self, account: Account, thread: ThreadView, comment: CommentView,
                opening: bool = False) -> PostResult:
        names = mentions(comment.body)
        if not thread.pending:
            for hook in self.on_post:
                hook(account, thread, comment, names)
        elif opening:  # nobody else hears of it before a moderator approves the thread
            for moderation_hook in self.on_moderation:
                moderation_hook("pending", account.name, thread, comment.id)
        self._changed(thread.id, thread.page_name)
        return PostResult(thread, comment, names)

    def _changed(self, thread_id: int, page_name: str | None) -> None:
        for listener in self.listeners:
            listener(thread_id, page_name)

    def edit(self, account: Account, comment_id: int, body: str) -> CommentView:
        """Change one's own comment; the earlier text is kept for moderators."""
        body = self._body(body)
        with self.db.session() as s:
            comment, thread = self._comment_row(s, account, comment_id)
            if account.is_anonymous or comment.author_id != account.id:
                    raise PermissionDenied("Only its author can change a comment.")
            if comment.deleted or comment.hidden_reason:
                raise DiscussionClosed("This comment was removed and cannot be changed.")
            if body != comment.body:
                s.add(CommentRevision(comment_id=comment.id, body=comment.body,
                                      written=comment.edited or comment.created))
                comment.body = body
                comment.edited = utcnow()
            view = self._comment_view(account, comment, {}, False)
            thread_id, page_name = thread.id, thread.page_name
        self._changed(thread_id, page_name)
        return view

    def delete(self, account: Account, comment_id: int) -> None:
        """Remove a comment (author or moderator): "comment removed" stays in its place."""
        with self.db.session() as s:
            comment, thread = self._comment_row(s, account, comment_id)
            mine = account.id is not None and comment.author_id == account.id
            if not mine:
                self._require_moderator(account, thread.page_name)
            if not comment.deleted:
                s.add(CommentRevision(comment_id=comment.id, body=comment.body,
                                      written=comment.edited or comment.created))
                comment.deleted = True
                _close_reports(s, comment.id, "removed", account.name)
            thread_id, page_name = thread.id, thread.page_name
        if not mine:
            self.acl.record(account.name, "comment.delete", page_name, f"comment {comment_id}")
        self._changed(thread_id, page_name)

    def set_status(self, account: Account, thread_id: int, status: str) -> ThreadView:
        if status not in ("open", "resolved"):
            raise InvalidInput("The status is open or resolved.")
        with self.db.session() as s:
            thread = self._thread_row(s, account, thread_id)
            mine = account.id is not None and thread.author_id == account.id
            if not mine:
                self._require_moderator(account, thread.page_name)
            thread.status = status
        self._changed(thread_id, thread.page_name)
        return self.thread(account, thread_id)

    def set_locked(self, account: Account, thread_id: int, locked: bool) -> ThreadView:
        with self.db.session() as s:
            thread = self._thread_row(s, account, thread_id)
            self._require_moderator(account, thread.page_name)
            thread.locked = bool(locked)
            page_name = thread.page_name
        self.acl.record(account.name, "thread.lock" if locked else "thread.unlock", page_name,
                        f"thread {thread_id}")
        return self.thread(account, thread_id)

    def hide(self, account: Account, comment_id: int, reason: str) -> None:
        """Hide a comment from everyone but moderators, with a reason (audit-logged)."""
        reason = " ".join(reason.split()) if isinstance(reason, str) else ""
        if not reason:
            raise InvalidInput("Say why the comment is hidden.")
        reason = reason[:MAX_REASON_CHARS]
        with self.db.session() as s:
            comment, thread = self._comment_row(s, account, comment_id)
            self._require_moderator(account, thread.page_name)
            comment.hidden_reason = reason
            comment.hidden_by = account.name
            thread_id, page_name = thread.id, thread.page_name
            _close_reports(s, comment.id, "hidden", account.name)
        self.acl.record(account.name, "comment.hide", page_name,
                        f"comment {comment_id}: {reason}")
        self._changed(thread_id, page_name)

    def unhide(self, account: Account, comment_id: int) -> None:
        with self.db.session() as s:
            comment, thread = self._comment_row(s, account, comment_id)
            self._require_moderator(account, thread.page_name)
            comment.hidden_reason = ""
            comment.hidden_by = ""
            thread_id, page_name = thread.id, thread.page_name
        self.acl.record(account.name, "comment.unhide", page_name, f"comment {comment_id}")
        self._changed(thread_id, page_name)

    # --- reports and approval ----------------------------------------------------------------

    def report(self, account: Account, comment_id: int, reason: str) -> None:
        """Ask the page's moderators to look at a comment (once per reader and comment: a
        second report while the first is open only changes its reason)."""
        reason = " ".join(reason.split()) if isinstance(reason, str) else ""
        if not reason:
            raise InvalidInput("Say what is wrong with the comment.")
        reason = reason[:MAX_REASON_CHARS]
        with self.db.session() as s:
            comment, thread = self._comment_row(s, account, comment_id)
            self._require_participant(account, thread.page_name)
            if comment.deleted or comment.hidden_reason:
                raise DiscussionClosed("This comment was already removed.")
            if comment.author_id is not None and comment.author_id == account.id:
                raise InvalidInput("You can remove or change your own comment instead.")
            earlier = s.scalar(select(CommentReport).where(
                CommentReport.comment_id == comment.id, CommentReport.status == "open",
                CommentReport.reporter_id == account.id))
            if earlier is not None:
                earlier.reason = reason
            else:
                s.add(CommentReport(comment_id=comment.id, thread_id=thread.id,
                                    reporter_id=account.id, reporter_name=account.name,
                                    reason=reason))
            view = self._thread_view(account, thread, 0, True)
        self.acl.record(account.name, "comment.report", view.page_name,
                        f"comment {comment_id}: {reason}")
        if earlier is None:
            for hook in self.on_moderation:
                hook("report", account.name, view, comment_id)

    def reports(self, account: Account, limit: int = 200) -> list[ReportView]:
        """Open reports on pages this account moderates, oldest first."""
        with self.db.session() as s:
            rows = s.execute(select(CommentReport, Comment, Thread)
                             .join(Comment, Comment.id == CommentReport.comment_id)
                             .join(Thread, Thread.id == CommentReport.thread_id)
                             .where(CommentReport.status == "open")
                             .order_by(CommentReport.id)).all()
        found = []
        for report, comment, thread in rows:
            if not self.may_moderate(account, thread.page_name):
                continue
            found.append(ReportView(
                id=report.id, thread_id=thread.id, thread_title=thread.title,
                page_name=thread.page_name, reporter=report.reporter_name,
                reason=report.reason, created=report.created,
                comment=self._comment_view(account, comment, {}, True)))
            if len(found) >= limit:
                break
        return found

    def dismiss_report(self, account: Account, report_id: int) -> None:
        """The comment is fine: close the report (logged in the audit log)."""
        with self.db.session() as s:
            report = s.get(CommentReport, report_id) if _valid_id(report_id) else None
            if report is None:
                raise NotFound("There is no such report.")
            _comment, thread = self._comment_row(s, account, report.comment_id)
            self._require_moderator(account, thread.page_name)
            report.status, report.handled_by, report.handled = "dismissed", account.name, utcnow()
            page_name, comment_id = thread.page_name, report.comment_id
        self.acl.record(account.name, "report.dismiss", page_name,
                        f"report {report_id} on comment {comment_id}")

    def pending(self, account: Account) -> list[ThreadView]:
        """Threads waiting for approval on pages this account moderates, oldest first."""
        with self.db.session() as s:
            rows = list(s.scalars(select(Thread).where(Thread.approved.is_(False))
                                  .order_by(Thread.id)))
        return [self.thread(account, r.id) for r in rows
                if self.may_moderate(account, r.page_name)]

    def approve(self, account: Account, thread_id: int) -> ThreadView:
        """Let everyone who may read the page see a held-back thread; mentions in its opening
        post and the page's watchers are notified now."""
        with self.db.session() as s:
            thread = self._thread_row(s, account, thread_id)
            self._require_moderator(account, thread.page_name)
            if thread.approved:
                return self.thread(account, thread_id)
            thread.approved = True
            author = Account(id=thread.author_id, name=thread.author_name)  # for the hooks
            page_name = thread.page_name
        self.acl.record(account.name, "thread.approve", page_name, f"thread {thread_id}")
        view = self.thread(account, thread_id)
        opening = next((c for c in view.comments if c.reply_to is None), None)
        if opening is not None and not opening.deleted and not opening.hidden:
            for hook in self.on_post:
                hook(author, view, opening, mentions(opening.body))
        self._changed(thread_id, page_name)
        return view

    def reject(self, account: Account, thread_id: int) -> str:
        """Delete a held-back thread that should not be published (logged with its title);
        returns its page name."""
        with self.db.session() as s:
            thread = self._thread_row(s, account, thread_id)
            self._require_moderator(account, thread.page_name)
            if thread.approved:
                raise InvalidInput("Only a discussion that waits for approval can be rejected.")
            page_name, title, author = thread.page_name, thread.title, thread.author_name
            s.execute(delete(CommentReport).where(CommentReport.thread_id == thread.id))
            s.execute(update(Comment).where(Comment.thread_id == thread.id)
                      .values(reply_to=None))
            s.execute(delete(Comment).where(Comment.thread_id == thread.id))
            s.execute(delete(Notification).where(Notification.thread_id == thread.id))
            s.delete(thread)
        self.acl.record(account.name, "thread.reject", page_name,
                        f"thread {thread_id} by {author}: {title}")
        self._changed(thread_id, None)
        return page_name

    # --- following the page ------------------------------------------------------------------

    def follow_renames(self, changes: list[PageChange], full: bool) -> None:
        """Catalog listener: threads and page watches move with a renamed page.

        A page key that disappeared in this catch-up and has threads is looked up in the
        revision rows (action "rename", `old_key`); its threads take the new key and name.
        """
        gone = [c.key for c in changes if c.name is None]
        if full:  # a rebuild: any thread whose page is missing may have been renamed
            with self.db.session() as s:
                gone = list(s.scalars(select(Thread.page_key).distinct()))
        if not gone:
            return
        with self.db.session() as s:
            orphans = dict(s.execute(select(Thread.page_key, Thread.page_name)
                                     .where(Thread.page_key.in_(gone)).distinct()).all())
        with self.db.session() as s:  # not catalog.page(): its memo still has the old HEAD
            alive = set(s.scalars(select(PageRow.key).where(PageRow.key.in_(orphans))))
        for key, name in orphans.items():
            if key in alive:
                continue
            target = self.catalog.renamed_to(name)
            if not target or paths.key(target) == key:
                continue
            new_key = paths.key(target)
            with self.db.session() as s:
                s.execute(update(Thread).where(Thread.page_key == key)
                          .values(page_key=new_key, page_name=target))
                s.execute(update(Notification).where(Notification.page_key == key)
                          .values(page_key=new_key, page_name=target))
                moved = {w for w in s.scalars(select(Watch.user_id).where(
                    Watch.key == new_key, Watch.namespace.is_(False)))}
                for watch in s.scalars(select(Watch).where(Watch.key == key,
                                                           Watch.namespace.is_(False))):
                    if watch.user_id in moved:
                        s.delete(watch)
                    else:
                        watch.key, watch.name = new_key, target
                ids = list(s.scalars(select(Thread.id).where(Thread.page_key == new_key)))
            for thread_id in ids:
                self._changed(thread_id, target)

    # --- activity ----------------------------------------------------------------------------

    def recent_comments(self, account: Account, limit: int = 50, prefix: str = ""
                        ) -> list[Activity]:
        """Comments newest first, only on pages the account may read; removed ones left out."""
        out: list[Activity] = []
        query = (select(Comment.id, Comment.thread_id, Comment.author_name, Comment.created,
                        Comment.body, Thread.page_name, Thread.title)
                 .join(Thread, Thread.id == Comment.thread_id)
                 .where(_SHOWN, Thread.approved.is_(True)))
        if prefix:
            query = query.where(Thread.page_key.startswith(
                paths.key(prefix.strip("/")) + "/", autoescape=True))
        batch, start = max(limit * 2, 100), 0
        while len(out) < limit:
            with self.db.session() as s:
                rows = s.execute(query.order_by(Comment.id.desc()).offset(start)
                                 .limit(batch)).all()
            for r in rows:
                if self.permissions.can_read(account, r.page_name):
                    out.append(Activity(kind="comment", page_name=r.page_name,
                                        author=r.author_name, date=r.created,
                                        summary=r.title, thread_id=r.thread_id,
                                        comment_id=r.id))
            if len(rows) < batch:
                break
            start += batch
        return out[:limit]

    def recent_edits(self, account: Account, limit: int = 50, prefix: str = ""
                     ) -> list[Activity]:
        """Page changes newest first, as `Pages.recent` filters them (both names of a
        renamed page must be readable), optionally under a namespace."""
        self.catalog.ensure_current()
        out: list[Activity] = []
        batch, start = max(limit * 2, 100), 0
        while len(out) < limit:
            rows = self.catalog.recent(limit=batch, offset=start, prefix=prefix)
            out += [Activity(kind=r.action, page_name=r.name, author=r.author, date=r.date,
                             summary=r.message, revision=r.revision, pushed_by=r.pushed_by)
                    for r in rows
                    if self.permissions.can_read(account, r.name)
                    and self.permissions.can_read(account, r.page_key)]
            if len(rows) < batch:
                break
            start += batch
        return out[:limit]

    def activity(self, account: Account, limit: int = 50, prefix: str = ""
                 ) -> list[Activity]:
        """Edits and comments the account may read, newest first, wiki-wide or under a
        namespace."""
        self.permissions.require_read(account)
        items = self.recent_edits(account, limit=limit, prefix=prefix)
        items += self.recent_comments(account, limit=limit, prefix=prefix)
        if not prefix:
            items += self.recent_pushes(limit=limit)
        items.sort(key=lambda a: a.date, reverse=True)
        return items[:limit]

    def recent_pushes(self, limit: int = 50) -> list[Activity]:
        """Who pushed with git (the commits themselves keep their authors): wiki-wide only,
        and naming no page, so it reveals nothing a reader may not see."""
        return [Activity(kind="push", page_name="", author=e.actor, date=e.created,
                         summary=e.detail.partition(" ")[0])
                for e in self.acl.events(limit=limit, action="git-push")]

    # --- search (issue 4) --------------------------------------------------------------------

    def thread_document(self, thread_id: int) -> ThreadDocument | None:
        """A thread as one searchable document (removed and hidden comments left out).

        The index must filter by `page_name` with the same read rules as pages."""
        with self.db.session() as s:
            thread = s.get(Thread, thread_id) if _valid_id(thread_id) else None
            if thread is None or not thread.approved:  # held back: not searchable yet
                return None
            bodies = s.scalars(select(Comment.body).where(
                Comment.thread_id == thread_id, _SHOWN).order_by(Comment.id))
            return ThreadDocument(id=thread.id, page_name=thread.page_name, title=thread.title,
                                  text="\n\n".join(bodies), updated=thread.updated)

    def all_threads_for_index(self) -> Iterator[ThreadDocument]:
        """Every approved thread as a search document, for a full reindex."""
        with self.db.session() as s:
            ids = list(s.scalars(select(Thread.id).where(Thread.approved.is_(True))
                                 .order_by(Thread.id)))
        for thread_id in ids:
            document = self.thread_document(thread_id)
            if document is not None:
                yield document

    def user_names(self, account: Account, page: str, prefix: str, limit: int = 10
                   ) -> list[tuple[str, str]]:
        """(name, label) of users whose name starts with `prefix` and who may read the page:
        the autocomplete for `@mentions`."""
        name = paths.normalize(page)
        self._require_participant(account, name)
        prefix = (prefix or "").lower()[:64]
        with self.db.session() as s:
            rows = s.execute(select(User.id, User.name, User.display_name, User.role)
                             .where(User.name_key.startswith(prefix, autoescape=True))
                             .order_by(User.name_key).limit(limit * 5)).all()
        found = []
        for r in rows:
            candidate = Account(id=r.id, name=r.name, display_name=r.display_name, role=r.role)
            if self.permissions.can_read(candidate, name):
                found.append((r.name, r.display_name or r.name))
            if len(found) >= limit:
                break
        return found


def _close_reports(s, comment_id: int, status: str, moderator: str) -> None:
    """A hidden or removed comment needs no more looking at: its open reports are done."""
    s.execute(update(CommentReport).where(CommentReport.comment_id == comment_id,
                                          CommentReport.status == "open")
              .values(status=status, handled_by=moderator, handled=utcnow()))


def _valid_id(value) -> bool:
    """A row id as SQL can hold it: a huge number from a URL is "not found", not a crash."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63
