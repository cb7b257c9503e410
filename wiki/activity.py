"""The activity stream: page edits, comments and git pushes, newest first, wiki-wide or
under a namespace (`/activity`, `/activity.atom`).

Plain values in, dataclasses out; no Flask. Edits come from `Pages.recent`, so the stream
filters them exactly as Recent changes does; comments only from pages the reader may read.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from wiki import paths
from wiki.acl import Acl
from wiki.db import Comment, Database, Thread
from wiki.discussions import SHOWN
from wiki.pages import Pages
from wiki.permissions import Permissions
from wiki.users import Account


@dataclass(frozen=True)
class ActivityItem:
    """One line of the activity stream: a page edit, a comment or a push."""

    kind: str  # create, edit, delete, rename, comment, push
    page_name: str
    author: str
    date: datetime
    summary: str
    revision: str = ""
    thread_id: int | None = None
    comment_id: int | None = None
    pushed_by: str = ""  # an edit pushed with git by someone else than its author


class Activity:
    def __init__(self, db: Database, pages: Pages, permissions: Permissions, acl: Acl):
        self.db = db
        self.pages = pages
        self.permissions = permissions
        self.acl = acl

    def recent(self, account: Account, limit: int = 50, prefix: str = ""
               ) -> list[ActivityItem]:
        """Edits and comments the account may read, newest first, wiki-wide or under a
        namespace; wiki-wide, git pushes too."""
        self.permissions.require_read(account)
        items = self.recent_edits(account, limit=limit, prefix=prefix)
        items += self.recent_comments(account, limit=limit, prefix=prefix)
        if not prefix:
            items += self.recent_pushes(limit=limit)
        items.sort(key=lambda a: a.date, reverse=True)
        return items[:limit]

    def recent_edits(self, account: Account, limit: int = 50, prefix: str = ""
                     ) -> list[ActivityItem]:
        """Page changes newest first, as Recent changes shows them to this account."""
        return [ActivityItem(kind=r.action, page_name=r.name, author=r.author, date=r.date,
                             summary=r.message, revision=r.revision, pushed_by=r.pushed_by)
                for r in self.pages.recent(account, limit=limit, prefix=prefix)]

    def recent_comments(self, account: Account, limit: int = 50, prefix: str = ""
                        ) -> list[ActivityItem]:
        """Comments newest first, only on pages the account may read; removed ones and those
        in threads waiting for approval left out."""
        out: list[ActivityItem] = []
        query = (select(Comment.id, Comment.thread_id, Comment.author_name, Comment.created,
                        Thread.page_name, Thread.title)
                 .join(Thread, Thread.id == Comment.thread_id)
                 .where(SHOWN, Thread.approved.is_(True)))
        if prefix:
            query = query.where(Thread.page_key.startswith(
                paths.key(prefix.strip("/")) + "/", autoescape=True))
        # Filter first, then take `limit`: comments on hidden pages must not shorten the list.
        batch, start = max(limit * 2, 100), 0
        while len(out) < limit:
            with self.db.session() as s:
                rows = s.execute(query.order_by(Comment.id.desc()).offset(start)
                                 .limit(batch)).all()
            out += [ActivityItem(kind="comment", page_name=r.page_name, author=r.author_name,
                                 date=r.created, summary=r.title, thread_id=r.thread_id,
                                 comment_id=r.id)
                    for r in rows if self.permissions.can_read(account, r.page_name)]
            if len(rows) < batch:
                break
            start += batch
        return out[:limit]

    def recent_pushes(self, limit: int = 50) -> list[ActivityItem]:
        """Who pushed with git (the commits themselves keep their authors): wiki-wide only,
        and naming no page, so it reveals nothing a reader may not see."""
        return [ActivityItem(kind="push", page_name="", author=e.actor, date=e.created,
                             summary=e.detail.partition(" ")[0])
                for e in self.acl.events(limit=limit, action="git-push")]
