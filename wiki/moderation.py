"""Moderating discussions: lock a thread, hide a comment with a reason, read a comment's
earlier texts, report a comment and handle the reports, approve or reject held-back threads.

Plain values in, dataclasses out; no Flask. Built on `Discussions`, which decides who
moderates a page (whoever may write it) and which threads it shows to whom, so a thread on a
page one may not read is missing here too. Every moderator's action is audit-logged;
moderators hear of reports through `Discussions.on_moderation` (wired to notify).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from wiki.acl import Acl
from wiki.db import Comment, CommentReport, CommentRevision, Notification, Thread, utcnow
from wiki.discussions import (
    CommentView,
    DiscussionClosed,
    Discussions,
    ThreadView,
    close_reports,
    mentions,
    valid_id,
)
from wiki.errors import InvalidInput, NotFound
from wiki.users import Account

MAX_REASON_CHARS = 500


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


def _reason(reason, missing: str) -> str:
    reason = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not reason:
        raise InvalidInput(missing)
    return reason[:MAX_REASON_CHARS]


class Moderation:
    def __init__(self, discussions: Discussions, acl: Acl):
        self.discussions = discussions
        self.db = discussions.db
        self.acl = acl

    # --- threads and comments ------------------------------------------------------------------

    def set_locked(self, account: Account, thread_id: int, locked: bool) -> ThreadView:
        """Lock a thread (it takes no new comments) or unlock it."""
        discussions = self.discussions
        with self.db.session() as s:
            thread = discussions.thread_row(s, account, thread_id)
            discussions.require_moderator(account, thread.page_name)
            thread.locked = bool(locked)
            page_name = thread.page_name
        self.acl.record(account.name, "thread.lock" if locked else "thread.unlock", page_name,
                        f"thread {thread_id}")
        return discussions.thread(account, thread_id)

    def hide(self, account: Account, comment_id: int, reason: str) -> None:
        """Hide a comment from everyone but moderators, with a reason (audit-logged)."""
        reason = _reason(reason, "Say why the comment is hidden.")
        discussions = self.discussions
        with self.db.session() as s:
            comment, thread = discussions.comment_row(s, account, comment_id)
            discussions.require_moderator(account, thread.page_name)
            comment.hidden_reason = reason
            comment.hidden_by = account.name
            thread_id, page_name = thread.id, thread.page_name
            close_reports(s, comment.id, "hidden", account.name)
        self.acl.record(account.name, "comment.hide", page_name,
                        f"comment {comment_id}: {reason}")
        discussions.changed(thread_id, page_name)

    def unhide(self, account: Account, comment_id: int) -> None:
        discussions = self.discussions
        with self.db.session() as s:
            comment, thread = discussions.comment_row(s, account, comment_id)
            discussions.require_moderator(account, thread.page_name)
            comment.hidden_reason = ""
            comment.hidden_by = ""
            thread_id, page_name = thread.id, thread.page_name
        self.acl.record(account.name, "comment.unhide", page_name, f"comment {comment_id}")
        discussions.changed(thread_id, page_name)

    def comment_history(self, account: Account, comment_id: int
                        ) -> tuple[CommentView, list[CommentRevision]]:
        """Earlier texts of a comment, newest first: for moderators only."""
        discussions = self.discussions
        with self.db.session() as s:
            comment, thread = discussions.comment_row(s, account, comment_id)
            discussions.require_moderator(account, thread.page_name)
            revisions = list(s.scalars(select(CommentRevision)
                                       .where(CommentRevision.comment_id == comment.id)
                                       .order_by(CommentRevision.id.desc())))
            view = discussions.comment_view(account, comment, {}, True)
        return view, revisions

    # --- reports -------------------------------------------------------------------------------

    def report(self, account: Account, comment_id: int, reason: str) -> None:
        """Ask the page's moderators to look at a comment (once per reader and comment: a
        second report while the first is open only changes its reason)."""
        reason = _reason(reason, "Say what is wrong with the comment.")
        discussions = self.discussions
        with self.db.session() as s:
            comment, thread = discussions.comment_row(s, account, comment_id)
            discussions.require_participant(account, thread.page_name)
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
            view = discussions.thread_view(account, thread, 0, True)
        self.acl.record(account.name, "comment.report", view.page_name,
                        f"comment {comment_id}: {reason}")
        if earlier is None:
            for hook in discussions.on_moderation:
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
            if not self.discussions.may_moderate(account, thread.page_name):
                continue
            found.append(ReportView(
                id=report.id, thread_id=thread.id, thread_title=thread.title,
                page_name=thread.page_name, reporter=report.reporter_name,
                reason=report.reason, created=report.created,
                comment=self.discussions.comment_view(account, comment, {}, True)))
            if len(found) >= limit:
                break
        return found

    def dismiss_report(self, account: Account, report_id: int) -> None:
        """The comment is fine: close the report (logged in the audit log)."""
        discussions = self.discussions
        with self.db.session() as s:
            report = s.get(CommentReport, report_id) if valid_id(report_id) else None
            if report is None:
                raise NotFound("There is no such report.")
            _comment, thread = discussions.comment_row(s, account, report.comment_id)
            discussions.require_moderator(account, thread.page_name)
            report.status, report.handled_by, report.handled = "dismissed", account.name, utcnow()
            page_name, comment_id = thread.page_name, report.comment_id
        self.acl.record(account.name, "report.dismiss", page_name,
                        f"report {report_id} on comment {comment_id}")

    # --- approval ------------------------------------------------------------------------------

    def pending(self, account: Account) -> list[ThreadView]:
        """Threads waiting for approval on pages this account moderates, oldest first."""
        with self.db.session() as s:
            rows = list(s.scalars(select(Thread).where(Thread.approved.is_(False))
                                  .order_by(Thread.id)))
        return [self.discussions.thread(account, r.id) for r in rows
                if self.discussions.may_moderate(account, r.page_name)]

    def approve(self, account: Account, thread_id: int) -> ThreadView:
        """Let everyone who may read the page see a held-back thread; mentions in its opening
        post and the page's watchers are notified now."""
        discussions = self.discussions
        with self.db.session() as s:
            thread = discussions.thread_row(s, account, thread_id)
            discussions.require_moderator(account, thread.page_name)
            if thread.approved:
                return discussions.thread(account, thread_id)
            thread.approved = True
            author = Account(id=thread.author_id, name=thread.author_name)  # for the hooks
            page_name = thread.page_name
        self.acl.record(account.name, "thread.approve", page_name, f"thread {thread_id}")
        view = discussions.thread(account, thread_id)
        opening = next((c for c in view.comments if c.reply_to is None), None)
        if opening is not None and not opening.deleted and not opening.hidden:
            for hook in discussions.on_post:
                hook(author, view, opening, mentions(opening.body))
        discussions.changed(thread_id, page_name)
        return view

    def reject(self, account: Account, thread_id: int) -> str:
        """Delete a held-back thread that should not be published (logged with its title);
        returns its page name."""
        discussions = self.discussions
        with self.db.session() as s:
            thread = discussions.thread_row(s, account, thread_id)
            discussions.require_moderator(account, thread.page_name)
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
        discussions.changed(thread_id, None)
        return page_name
