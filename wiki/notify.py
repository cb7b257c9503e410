"""Watches, mentions, the in-app inbox and notification email (the only smtplib user).

Who hears what:
- a user mentioned as `@name` in a comment hears of it, if they may read the page;
- users watching the page (or a namespace above it) hear of new comments and of edits there;
- creating or editing a page watches it (a catalog listener, so pushes count too);
- the page's moderators (who may write it) hear of reported comments and of new threads that
  wait for their approval.

Notifications are stored per user. Whether a user may still read the page is checked when the
inbox is shown and when email goes out, so losing read access to a page also hides what was
said about it. Email goes out when `smtp_host` is set: at once, or in a daily digest sent by
`wiki notify send-digests` (run it from cron), or never, as each user chooses.
"""

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import delete, func, select, update

from wiki import paths
from wiki.catalog import PageChange
from wiki.config import Settings
from wiki.db import Database, Notification, NotifyPreference, User, Watch
from wiki.errors import InvalidInput, Unauthorized
from wiki.permissions import Permissions
from wiki.users import Account, Users, account_name_of, account_of

log = logging.getLogger(__name__)

EMAIL_MODES = ("immediately", "daily", "never")
SMTP_TIMEOUT = 20
INBOX_LIMIT = 200
KINDS = ("mention", "comment", "edit", "report", "pending",
         "flag", "flag_closed", "review",  # wiki/freshness.py (issue 16)
         "question", "answer")  # wiki/questions.py (issue 18)


@dataclass(frozen=True)
class Item:
    id: int
    kind: str  # one of KINDS
    page_name: str
    thread_id: int | None
    comment_id: int | None
    actor: str
    summary: str
    created: datetime
    read: bool


@dataclass(frozen=True)
class WatchInfo:
    name: str
    namespace: bool


@dataclass(frozen=True)
class PageChanges:
    """The inbox's one line for all the changes to one page: "5 changes by jan and eva"."""

    page_name: str
    items: tuple[Item, ...]  # newest first

    @property
    def actors(self) -> list[str]:
        return list(dict.fromkeys(i.actor for i in self.items))

    @property
    def unread(self) -> bool:
        return any(not i.read for i in self.items)

    @property
    def unseen(self) -> int:
        return sum(1 for i in self.items if not i.read)


def group_by_page(items: list[Item]) -> list[Item | PageChanges]:
    """Page changes folded into one entry per page, at the place of its newest change;
    mentions, comments and reports stay one entry each (they are about one comment)."""
    grouped: list[Item | PageChanges] = []
    changes: dict[str, list[Item]] = {}
    for item in items:
        if item.kind != "edit":
            grouped.append(item)
            continue
        key = item.page_name.casefold()
        if key not in changes:
            changes[key] = []
            grouped.append(PageChanges(item.page_name, ()))  # placeholder, filled below
        changes[key].append(item)
    return [PageChanges(g.page_name, tuple(changes[g.page_name.casefold()]))
            if isinstance(g, PageChanges) else g for g in grouped]


def _item(row: Notification) -> Item:
    return Item(id=row.id, kind=row.kind, page_name=row.page_name, thread_id=row.thread_id,
                comment_id=row.comment_id, actor=row.actor, summary=row.summary,
                created=row.created, read=row.read)


def _ancestors(key: str) -> list[str]:
    """Namespace keys above a page key: `a/b/c` -> [`a`, `a/b`]."""
    parts = key.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


class Notify:
    def __init__(self, db: Database, users: Users, permissions: Permissions,
                 settings: Settings):
        self.db = db
        self.users = users
        self.permissions = permissions
        self.settings = settings
        self._unread: dict[int, int] = {}
        self._unread_version: tuple | None = None

    # --- watches -----------------------------------------------------------------------------

    def watch(self, account: Account, name: str, namespace: bool = False) -> None:
        name = paths.normalize(name)
        if account.is_anonymous:
            raise Unauthorized()
        self.permissions.require_read(account, name)
        self._watch(account.id, name, namespace)

    def _watch(self, user_id: int, name: str, namespace: bool = False) -> None:
        with self.db.session() as s:
            if s.get(Watch, (user_id, paths.key(name), namespace)) is None:
                s.add(Watch(user_id=user_id, key=paths.key(name), namespace=namespace,
                            name=name))

    def unwatch(self, account: Account, name: str, namespace: bool = False) -> None:
        name = paths.normalize(name)
        if account.is_anonymous:
            raise Unauthorized()
        with self.db.session() as s:
            s.execute(delete(Watch).where(Watch.user_id == account.id,
                                          Watch.key == paths.key(name),
                                          Watch.namespace.is_(namespace)))

    def watches(self, account: Account) -> list[WatchInfo]:
        if account.is_anonymous:
            return []
        with self.db.session() as s:
            rows = s.scalars(select(Watch).where(Watch.user_id == account.id)
                             .order_by(Watch.key))
            return [WatchInfo(w.name, w.namespace) for w in rows
                    if self.permissions.can_read(account, w.name)]

    def watching(self, account: Account, name: str) -> bool:
        """Whether the account watches this page itself (not through a namespace)."""
        if account.is_anonymous:
            return False
        with self.db.session() as s:
            return s.get(Watch, (account.id, paths.key(name), False)) is not None

    def _watchers(self, s, page_key: str) -> set[int]:
        namespaces = _ancestors(page_key)
        rows = s.scalars(select(Watch.user_id).where(
            ((Watch.key == page_key) & Watch.namespace.is_(False))
            | (Watch.key.in_(namespaces) & Watch.namespace.is_(True))) if namespaces else
            select(Watch.user_id).where(Watch.key == page_key, Watch.namespace.is_(False)))
        return set(rows)

    # --- events ------------------------------------------------------------------------------

    def page_changes(self, changes: list[PageChange], full: bool) -> None:
        """Catalog listener: authors watch what they create or edit; watchers hear of it.

        A full rebuild replays all of history, which is no news to anyone: skipped."""
        if full:
            return
        for change in changes:
            if change.info is None:
                continue
            info = change.info
            with self.db.session() as s:
                # Whoever pushed a commit authored as someone else made the change.
                author = (self._user_by_name(s, info.pushed_by) if info.pushed_by
                          else self._user_by_email(s, info.author_email))
                if author is not None and s.get(Watch, (author.id, info.key, False)) is None:
                    s.add(Watch(user_id=author.id, key=info.key, namespace=False, name=info.name))
                watchers = self._watchers(s, info.key) - ({author.id} if author else set())
            self._notify(watchers, "edit", info.name, actor=info.pushed_by or info.author,
                         summary=info.title)

    @staticmethod
    def _user_by_name(s, name: str) -> User | None:
        return s.scalar(select(User).where(User.name_key == name.lower()))

    def _user_by_email(self, s, email: str) -> User | None:
        """The account a commit's author address names: the wiki's own address for it (what
        web edits carry), else the account that gave the wiki this email."""
        if not email:
            return None
        name = account_name_of(email, self.settings.author_host)
        if name is not None:
            return self._user_by_name(s, name)
        return s.scalar(select(User).where(func.lower(User.email) == email.lower())
                        .order_by(User.id).limit(1))

    def comment_posted(self, account: Account, thread, comment, mentioned: list[str]) -> None:
        """Discussions hook: mentioned users and the page's watchers hear of a new comment;
        the author watches the page from now on."""
        page_key = paths.key(thread.page_name)
        with self.db.session() as s:
            if account.id is not None and s.get(Watch, (account.id, page_key, False)) is None:
                s.add(Watch(user_id=account.id, key=page_key, namespace=False,
                            name=thread.page_name))
            named = set(s.scalars(select(User.id).where(
                User.name_key.in_([m.lower() for m in mentioned])))) if mentioned else set()
            watchers = self._watchers(s, page_key)
        named.discard(account.id)
        watchers -= named | {account.id}
        summary = thread.title
        self._notify(named, "mention", thread.page_name, thread.id, comment.id, account.name,
                     summary)
        self._notify(watchers, "comment", thread.page_name, thread.id, comment.id,
                     account.name, summary)

    def moderation(self, kind: str, actor: str, thread, comment_id: int | None) -> None:
        """Discussions hook: a comment was reported ("report") or a new thread waits for
        approval ("pending"); every moderator of the page but the actor hears of it."""
        with self.db.session() as s:
            staff = list(s.scalars(select(User).where(User.role.in_(("editor", "admin")),
                                                      User.name_key != actor.lower())))
        moderators = {u.id for u in staff
                      if self.permissions.can_write(account_of(u), thread.page_name)}
        self._notify(moderators, kind, thread.page_name, thread.id, comment_id, actor,
                     thread.title)

    def tell(self, user_ids: set[int], kind: str, page_name: str, actor: str = "",
             summary: str = "") -> None:
        """Other services' news (flags, review reminders) for these users, if they may read
        the page; it goes the same way as comments: inbox, then email or the digest."""
        self._notify(user_ids, kind, page_name, actor=actor, summary=summary)

    def _notify(self, user_ids: set[int], kind: str, page_name: str, thread_id: int | None = None,
                comment_id: int | None = None, actor: str = "", summary: str = "") -> None:
        if not user_ids:
            return
        with self.db.session() as s:
            users = list(s.scalars(select(User).where(User.id.in_(user_ids))))
            readers = [u for u in users if self.permissions.can_read(account_of(u), page_name)]
            rows = [Notification(user_id=u.id, kind=kind, page_key=paths.key(page_name),
                                 page_name=page_name, thread_id=thread_id,
                                 comment_id=comment_id, actor=actor, summary=summary[:500])
                    for u in readers]
            s.add_all(rows)
        if self.settings.smtp_host:
            self.send_pending(mode="immediately", user_ids={u.id for u in readers})

    # --- inbox -------------------------------------------------------------------------------

    def inbox(self, account: Account, limit: int = INBOX_LIMIT) -> list[Item]:
        if account.is_anonymous:
            raise Unauthorized()
        with self.db.session() as s:
            rows = list(s.scalars(select(Notification).where(Notification.user_id == account.id)
                                  .order_by(Notification.id.desc()).limit(limit)))
        return [_item(r) for r in rows if self.permissions.can_read(account, r.page_name)]

    def unread_count(self, account: Account) -> int:
        """The header's inbox badge: asked on every page view, so kept per process until a
        notification is written (any process) or the permission rules change."""
        if account.is_anonymous:
            return 0
        version = (self.db.version("notifications"), self.permissions.acl.version())
        if version != self._unread_version:
            self._unread, self._unread_version = {}, version
        unread = self._unread
        if account.id not in unread:
            with self.db.engine.connect() as c:
                names = c.scalars(select(Notification.page_name).where(
                    Notification.user_id == account.id, Notification.read.is_(False))
                    .limit(INBOX_LIMIT)).all()
            unread[account.id] = sum(1 for n in names if self.permissions.can_read(account, n))
        return unread[account.id]

    def mark_read(self, account: Account, ids: list[int] | None = None) -> None:
        """Mark these notifications (or all of them) read."""
        if account.is_anonymous:
            raise Unauthorized()
        query = update(Notification).where(Notification.user_id == account.id)
        if ids is not None:  # a number SQL cannot hold is no notification (not a 500)
            query = query.where(Notification.id.in_([i for i in ids if 0 < i < 2**63]))
        with self.db.session() as s:
            s.execute(query.values(read=True))

    # --- email -------------------------------------------------------------------------------

    def email_mode(self, account: Account) -> str:
        if account.is_anonymous:
            return "never"
        with self.db.session() as s:
            row = s.get(NotifyPreference, account.id)
            return row.email if row else "immediately"

    def set_email_mode(self, account: Account, mode: str) -> None:
        if account.is_anonymous:
            raise Unauthorized()
        if mode not in EMAIL_MODES:
            raise InvalidInput(f"Email is one of: {', '.join(EMAIL_MODES)}.")
        with self.db.session() as s:
            s.merge(NotifyPreference(user_id=account.id, email=mode))

    def send_digests(self) -> int:
        """Send every user who chose a daily digest one email with what is new; also retries
        immediate email that could not be sent. Returns how many emails went out."""
        return self.send_pending(mode="daily") + self.send_pending(mode="immediately")

    def send_pending(self, mode: str, user_ids: set[int] | None = None) -> int:
        """One email per user of this mode with their not yet emailed notifications."""
        if not self.settings.smtp_host:
            return 0
        with self.db.session() as s:
            query = (select(User, func.coalesce(NotifyPreference.email, "immediately"))
                     .outerjoin(NotifyPreference, NotifyPreference.user_id == User.id)
                     .where(User.email != "",
                            User.id.in_(select(Notification.user_id)
                                        .where(Notification.emailed.is_(False)))))
            if user_ids is not None:
                query = query.where(User.id.in_(user_ids))
            users = [(account_of(u), m) for u, m in s.execute(query).all() if m == mode]
        sent = 0
        for account, _mode in users:
            with self.db.session() as s:
                rows = list(s.scalars(select(Notification).where(
                    Notification.user_id == account.id, Notification.emailed.is_(False))
                    .order_by(Notification.id)))
            items = [_item(r) for r in rows if not r.read
                     and self.permissions.can_read(account, r.page_name)]
            if items and not self._send(account, items, digest=mode == "daily"):
                continue
            with self.db.session() as s:  # sent, or nothing left worth sending
                s.execute(update(Notification).where(Notification.id.in_([r.id for r in rows]))
                          .values(emailed=True))
            sent += bool(items)
        return sent

    def _send(self, account: Account, items: list[Item], digest: bool) -> bool:
        message = EmailMessage()
        site = self.settings.site_name
        if digest or len(items) > 1:
            message["Subject"] = f"[{site}] {len(items)} new notifications"
        else:
            message["Subject"] = f"[{site}] {_line(items[0])}"
        message["From"] = self.settings.smtp_from
        try:
            message["To"] = account.email
        except ValueError:  # a line break in an address stored before addresses were checked
            log.warning("not sending notification email to %s: bad address", account.name)
            return False
        base = self.settings.base_url.rstrip("/")
        lines = [f"Hello {account.label},", ""]
        for item in items:
            lines.append(f"- {_line(item)}")
            if base:
                lines.append(f"  {base}{_link(item)}")
        lines += ["", f"Your inbox: {base}/inbox" if base else "See your inbox in the wiki.", ""]
        message.set_content("\n".join(lines))
        try:
            with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port,
                              timeout=SMTP_TIMEOUT) as smtp:
                if self.settings.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.settings.smtp_user:
                    smtp.login(self.settings.smtp_user, self.settings.smtp_password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            # The notification stays unsent; `wiki notify send-digests` tries again.
            log.warning("could not send notification email to %s: %s", account.name, exc)
            return False
        return True


def _line(item: Item) -> str:
    if item.kind == "mention":
        return f"{item.actor} mentioned you in \"{item.summary}\" on {item.page_name}"
    if item.kind == "comment":
        return f"{item.actor} commented on \"{item.summary}\" on {item.page_name}"
    if item.kind == "report":
        return f"{item.actor} reported a comment in \"{item.summary}\" on {item.page_name}"
    if item.kind == "pending":
        return (f"{item.actor} started \"{item.summary}\" on {item.page_name}; "
                "it waits for approval")
    if item.kind == "flag":
        return f"{item.actor} flagged {item.page_name} as outdated or wrong: {item.summary}"
    if item.kind == "flag_closed":
        return f"{item.actor} changed {item.page_name}; your flag is closed"
    if item.kind == "review":
        return f"Pages to review: {item.summary}"
    if item.kind in ("question", "answer"):  # issue 18: comment_id holds the question's id
        verb = "asked" if item.kind == "question" else "answered"
        return f"{item.actor} {verb} \"{item.summary}\""
    return f"{item.actor} changed {item.page_name}"


def _link(item: Item) -> str:
    from urllib.parse import quote

    if item.kind in ("report", "pending"):
        return "/moderation"
    if item.kind == "review":
        return "/reports/freshness?owner=mine"
    if item.kind in ("question", "answer"):
        return f"/question/{item.comment_id}"
    if item.thread_id:
        return f"/thread/{item.thread_id}" + (f"#c{item.comment_id}" if item.comment_id else "")
    return "/wiki/" + quote(item.page_name)
