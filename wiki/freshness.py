"""Knowledge that stays true (issue 16): page owners, review cycles, verification, flags,
reminders and the content-health reports.

A page names its owner and review interval in its front matter (`owner: user:eva` or
`group:hr`, `review_every: 6 months`); a namespace default (`wiki review set PREFIX`) fills in
what a page leaves out, the most specific prefix winning as with permission rules. Verifying a
page is a commit that writes `verified_by` and `verified_on` into its front matter (every other
byte of the file kept), so git users see and edit all of it. From these follows the page's
freshness: current, due (review within DUE_DAYS), overdue, or unowned (no owner, or one that
no longer exists).

What the front matter says is derived data (`derived_freshness`, kept by the catalog's
catch-up step like backlinks, so pushes count); flags, defaults and reminders are not. No
Flask here: every method asks `Permissions`, and nothing hidden from the caller is counted,
listed or named.
"""

import calendar
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, insert, select

from wiki import paths
from wiki.acl import Acl
from wiki.catalog import Catalog, Change, PageChange
from wiki.db import (
    Database,
    FreshnessRow,
    Group,
    GroupMember,
    LinkRow,
    PageFlag,
    PageRow,
    ReviewDefault,
    ReviewReminder,
    State,
    User,
    Watch,
)
from wiki.errors import (
    InvalidInput,
    PageExists,
    PageNotFound,
    PermissionDenied,
    Unauthorized,
)
from wiki.notify import Notify
from wiki.permissions import Permissions
from wiki.render import split_front_matter
from wiki.repo import Repository, Write
from wiki.users import Account, Users, account_of, commit_author

DUE_DAYS = 14  # "due" is the last two weeks before the review date (the window)
MAX_REASON_CHARS = 1000
MAX_INTERVAL_COUNT = 100
STALE_DAYS = 365  # the content-health report's "unchanged for a year"
FILLED = "freshness_filled"  # derived_state: the table holds every page (see _ensure_filled)
STATES = ("overdue", "due", "unowned", "current")

_UNITS = {"day": "days", "days": "days", "dag": "days", "dagen": "days",
          "week": "weeks", "weeks": "weeks", "weken": "weeks",
          "month": "months", "months": "months", "maand": "months", "maanden": "months",
          "year": "years", "years": "years", "jaar": "years", "jaren": "years"}
_INTERVAL = re.compile(r"\s*(\d{1,3})\s*([a-z]+)\s*", re.IGNORECASE)
_OWNER = re.compile(r"(user|group):([^\s:,]{1,64})")
_PLAIN_SCALAR = re.compile(r"[A-Za-z0-9_.@-]+")
_FRONT_MATTER_END = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)  # as render.py reads it


# --- values ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    count: int
    unit: str  # days, weeks, months, years

    def after(self, start: date) -> date:
        if self.unit == "days":
            return start + timedelta(days=self.count)
        if self.unit == "weeks":
            return start + timedelta(weeks=self.count)
        months = self.count * (12 if self.unit == "years" else 1)
        year, month = divmod(start.month - 1 + months, 12)
        year += start.year
        # 31 August + 6 months is the last day of February, not an error.
        day = min(start.day, calendar.monthrange(year, month + 1)[1])
        return date(year, month + 1, day)


def parse_interval(text) -> Interval:
    """`6 months`, `1 year`, `2 weeks`, `30 days` (Dutch words too); InvalidInput otherwise."""
    match = _INTERVAL.fullmatch(text) if isinstance(text, str) else None
    unit = _UNITS.get(match.group(2).lower()) if match else None
    if not match or unit is None or not 0 < int(match.group(1)) <= MAX_INTERVAL_COUNT:
        raise InvalidInput("A review interval looks like `6 months`, `1 year`, `2 weeks` or "
                           "`30 days` (a number from 1 to 100).")
    return Interval(int(match.group(1)), unit)


def parse_owner(text) -> str:
    """`user:NAME` or `group:NAME`, lower-cased as permission rules compare them."""
    match = _OWNER.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        raise InvalidInput("An owner is `user:NAME` or `group:NAME`.")
    return f"{match.group(1)}:{match.group(2).lower()}"


def state_of(owner_exists: bool, review_by: date | None, today: date) -> str:
    if not owner_exists:
        return "unowned"
    if review_by is None or (review_by - today).days > DUE_DAYS:
        return "current"
    return "overdue" if review_by < today else "due"


def with_front_matter(text: str, values: dict[str, str]) -> str:
    """The text with these top-level front-matter keys set; every other byte stays as it was
    (the file is the user's: comments, key order, quoting and line endings are theirs)."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom):]
    first, newline, rest = body.partition("\n")
    eol = "\r\n" if first.endswith("\r") else "\n"
    lines = {k: f"{k}: {_scalar(v)}" for k, v in values.items()}
    has_block = split_front_matter(text)[1] != text and first.rstrip() == "---"
    end = _FRONT_MATTER_END.search(rest) if has_block else None
    if end is None:
        block = "".join(line + eol for line in lines.values())
        return f"{bom}---{eol}{block}---{eol}{body}"
    block, tail = rest[:end.start()], rest[end.start():]
    for key, line in lines.items():
        pattern = re.compile(rf"^{re.escape(key)}[ \t]*:[^\r\n]*", re.MULTILINE)
        if pattern.search(block):
            block = pattern.sub(lambda _m, line=line: line, block, count=1)
        else:
            if block and not block.endswith("\n"):
                block += eol
            block += line + eol
    return f"{bom}{first}{newline}{block}{tail}"


def _scalar(value: str) -> str:
    if _PLAIN_SCALAR.fullmatch(value) and not value[0].isdigit() or \
            re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- answers ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verified:
    by: str
    on: date


@dataclass(frozen=True)
class Freshness:
    name: str
    owner: str | None  # user:NAME / group:NAME, front matter or namespace default
    interval: str | None
    review_by: date | None
    verified: Verified | None
    state: str  # one of STATES
    days: int | None  # days until review_by (negative: overdue)


@dataclass(frozen=True)
class Flag:
    id: int
    page_name: str
    user: str
    reason: str
    created: datetime
    closed: datetime | None


@dataclass(frozen=True)
class VerifyResult:
    name: str
    revision: str
    review_by: date | None


@dataclass(frozen=True)
class Default:
    prefix: str
    owner: str
    review_every: str


@dataclass(frozen=True)
class LinkReport:
    broken: list[tuple[str, str]]  # (from page, to name)
    wanted: list[tuple[str, int]]  # (missing page, links to it)
    orphans: list[str]
    stale: list[tuple[str, datetime]]  # unchanged for STALE_DAYS


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


class FreshnessService:
    def __init__(self, db: Database, repo: Repository, catalog: Catalog, users: Users,
                 acl: Acl, permissions: Permissions, notify: Notify, today=None,
                 author_host: str = "kennis.invalid"):
        self.db = db
        self.author_host = author_host  # commits name the account (users.commit_author)
        self.repo = repo
        self.catalog = catalog
        self.users = users
        self.acl = acl
        self.permissions = permissions
        self.notify = notify
        self._today = today or (lambda: datetime.now(UTC).date())
        self._defaults: tuple | None = None  # (version, {key: Default})
        self._fill_lock = threading.Lock()

    def today(self) -> date:
        return self._today()

    # --- keeping up with git (a catalog listener) ----------------------------------------------

    def on_catalog_change(self, changes: list[PageChange], full: bool) -> None:
        with self.db.session() as s:
            if full:
                s.execute(delete(FreshnessRow))
            rows = []
            for change in changes:
                s.execute(delete(FreshnessRow).where(FreshnessRow.key == change.key))
                if change.info is not None and change.text is not None:
                    rows.append(self._row(change.key, change.info.name, change.text,
                                          change.info.updated))
            if rows:
                s.execute(insert(FreshnessRow), rows)
            if full:
                s.merge(State(name=FILLED, value="1"))
        if not full:
            self._close_flags([c for c in changes if c.info is not None])

    @staticmethod
    def _row(key: str, name: str, text: str, updated: datetime) -> dict:
        meta, _ = split_front_matter(text)

        def field(name: str, limit: int) -> str:
            value = meta.get(name)
            return str(value)[:limit] if isinstance(value, str | int) and value != "" else ""

        return dict(key=key, name=name, owner=field("owner", 200),
                    review_every=field("review_every", 64), verified_by=field("verified_by", 64),
                    verified_on=field("verified_on", 16), updated=updated)

    def _ensure_filled(self) -> None:
        """After the upgrade that added the table (or a rebuild elsewhere), fill it once from
        the catalog's pages instead of forcing a whole reindex."""
        self.catalog.ensure_current()
        with self.db.engine.connect() as c:
            if c.scalar(select(State.value).where(State.name == FILLED)) == "1":
                return
        with self._fill_lock, self.db.session() as s:
            if s.scalar(select(State.value).where(State.name == FILLED)) == "1":
                return
            pages = list(s.scalars(select(PageRow)))
            texts = self.repo.read_many([p.blob for p in pages])
            s.execute(delete(FreshnessRow))
            rows = [self._row(p.key, p.name, texts[p.blob].decode("utf-8", errors="replace"),
                              p.updated) for p in pages]
            if rows:
                s.execute(insert(FreshnessRow), rows)
            s.merge(State(name=FILLED, value="1"))

    # --- what a page's freshness is -------------------------------------------------------------

    def defaults(self) -> list[Default]:
        return sorted(self._default_map().values(), key=lambda d: d.prefix.lower())

    def _default_map(self) -> dict[str, Default]:
        version = self.db.version("review_defaults")
        cached = self._defaults
        if cached is None or cached[0] != version or version == 0:
            with self.db.session() as s:
                rows = {r.key: Default(r.prefix, r.owner, r.review_every)
                        for r in s.scalars(select(ReviewDefault))}
            self._defaults = cached = (version, rows)
        return cached[1]

    def _default_for(self, key: str, defaults: dict[str, Default]) -> Default | None:
        while defaults:
            key, slash, _ = key.rpartition("/")
            if not slash and not key:
                return defaults.get("")
            if key in defaults:
                return defaults[key]
            if not slash:
                return defaults.get("")
        return None

    def _owners(self) -> set[str]:
        with self.db.engine.connect() as c:
            users = {f"user:{n}" for n in c.scalars(select(User.name_key))}
            groups = {f"group:{g}" for g in c.scalars(select(Group.name_key))}
        return users | groups

    def _resolve(self, row: FreshnessRow, defaults, owners: set[str], today: date
                 ) -> Freshness:
        fallback = self._default_for(row.key, defaults)
        owner_text = row.owner or (fallback.owner if fallback else "")
        every = row.review_every or (fallback.review_every if fallback else "")
        try:
            owner = parse_owner(owner_text) if owner_text else None
        except InvalidInput:
            owner = None
        try:
            interval = parse_interval(every) if every else None
        except InvalidInput:
            interval = None
        verified_on = _date(row.verified_on)
        verified = Verified(row.verified_by, verified_on) if row.verified_by and verified_on \
            else None
        start = verified_on or row.updated.date()
        review_by = interval.after(start) if interval else None
        exists = owner is not None and owner in owners
        return Freshness(name=row.name, owner=owner, interval=every or None, review_by=review_by,
                         verified=verified, state=state_of(exists, review_by, today),
                         days=(review_by - today).days if review_by else None)

    def of(self, account: Account, name: str) -> Freshness:
        """The freshness of one page the account may read (PageNotFound otherwise)."""
        name = paths.normalize(name)
        self.permissions.require_read(account, name)
        self._ensure_filled()
        with self.db.session() as s:
            row = s.get(FreshnessRow, paths.key(name))
        if row is None or not self.permissions.can_read(account, row.name):
            raise PageNotFound()
        return self._resolve(row, self._default_map(), self._owners(), self.today())

    def may_verify(self, account: Account, fresh: Freshness) -> bool:
        if account.is_anonymous or not self.permissions.can_write(account, fresh.name):
            return False
        return account.is_admin or (fresh.owner is not None
                                    and fresh.owner in self.permissions.principals(account))

    # --- verify --------------------------------------------------------------------------------

    def verify(self, account: Account, name: str) -> VerifyResult:
        """Record that the owner checked the page today: a commit of its front matter."""
        if account.is_anonymous:
            raise Unauthorized()
        fresh = self.of(account, name)
        self.permissions.require_write(account, fresh.name)
        if not self.may_verify(account, fresh):
            raise PermissionDenied("Only the page's owner (or an admin) can verify it.")
        today = self.today()
        values = {"verified_by": account.name, "verified_on": today.isoformat()}

        def plan(_head) -> Change:
            info = self.catalog.page(fresh.name)
            if info is None:
                raise PageNotFound()
            text = self.repo.read_blob(info.blob).decode("utf-8")
            new = with_front_matter(text, values)
            meta, _ = split_front_matter(new)
            if meta.get("verified_by") != account.name or meta.get("verified_on") != values[
                    "verified_on"]:
                raise InvalidInput("The page's front matter could not be updated; fix its "
                                   "YAML first.")
            return Change([Write(paths.to_file(info.name), new.encode("utf-8"))],
                          f"Verify {info.name}")

        revision = self.catalog.commit(plan, commit_author(account, self.author_host))
        after = self.of(account, fresh.name)
        if revision is None:  # verified today already: nothing to change
            revision = self.catalog.page(fresh.name).revision
        return VerifyResult(after.name, revision, after.review_by)

    # --- flags ---------------------------------------------------------------------------------

    def flag(self, account: Account, name: str, reason) -> Flag:
        """A reader says the page is outdated or wrong; its owner (or, for an unowned page,
        its watchers) hears of it."""
        if account.is_anonymous:
            raise Unauthorized()
        fresh = self.of(account, name)  # PageNotFound for a page the account may not read
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            raise InvalidInput("Say in a few words what is outdated or wrong.")
        if len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(f"A reason can be at most {MAX_REASON_CHARS} characters.")
        key = paths.key(fresh.name)
        with self.db.session() as s:
            if s.scalar(select(PageFlag.id).where(PageFlag.page_key == key,
                                                  PageFlag.user_id == account.id,
                                                  PageFlag.closed.is_(None))):
                raise PageExists("You flagged this page already; the flag is still open.")
            row = PageFlag(page_key=key, page_name=fresh.name, user_id=account.id,
                           user_name=account.name, reason=reason)
            s.add(row)
            s.flush()
            flag = self._flag(row)
            audience = self._owner_ids(s, fresh.owner) if fresh.state != "unowned" else set()
            if not audience:
                audience = self._watcher_ids(s, key)
        self.notify.tell(audience - {account.id}, "flag", fresh.name, actor=account.name,
                         summary=reason)
        return flag

    @staticmethod
    def _flag(row: PageFlag) -> Flag:
        return Flag(id=row.id, page_name=row.page_name, user=row.user_name, reason=row.reason,
                    created=row.created, closed=row.closed)

    def _owner_ids(self, s, owner: str | None) -> set[int]:
        if not owner:
            return set()
        kind, _, name = owner.partition(":")
        if kind == "user":
            return set(s.scalars(select(User.id).where(User.name_key == name)))
        return set(s.scalars(select(GroupMember.user_id)
                             .join(Group, Group.id == GroupMember.group_id)
                             .where(Group.name_key == name)))

    @staticmethod
    def _watcher_ids(s, key: str) -> set[int]:
        parts = key.split("/")
        namespaces = ["/".join(parts[:i]) for i in range(1, len(parts))]
        query = select(Watch.user_id).where((Watch.key == key) & Watch.namespace.is_(False))
        if namespaces:
            query = select(Watch.user_id).where(
                ((Watch.key == key) & Watch.namespace.is_(False))
                | (Watch.key.in_(namespaces) & Watch.namespace.is_(True)))
        return set(s.scalars(query))

    def open_flags(self, account: Account, name: str) -> list[Flag]:
        """Open flags of a page, for those who may change it (they can fix it)."""
        name = paths.normalize(name)
        if not self.permissions.can_write(account, name):
            return []
        with self.db.session() as s:
            rows = s.scalars(select(PageFlag).where(PageFlag.page_key == paths.key(name),
                                                    PageFlag.closed.is_(None))
                             .order_by(PageFlag.id))
            return [self._flag(r) for r in rows]

    def _close_flags(self, changed: Iterable[PageChange]) -> None:
        """A page that changed (an edit, a verification, a push) closes its open flags; each
        flagger is told who changed it."""
        keys = {c.key: c for c in changed}
        if not keys:
            return
        with self.db.session() as s:
            rows = list(s.scalars(select(PageFlag).where(PageFlag.page_key.in_(keys),
                                                         PageFlag.closed.is_(None))))
            now = datetime.now(UTC)
            for row in rows:
                info = keys[row.page_key].info
                row.closed, row.closed_by = now, info.author[:256]
        for row in rows:
            info = keys[row.page_key].info
            if row.user_id is not None:
                self.notify.tell({row.user_id}, "flag_closed", info.name, actor=info.author,
                                 summary=row.reason)

    # --- namespace defaults (admins) ------------------------------------------------------------

    def set_default(self, account: Account, prefix: str, owner: str = "",
                    review_every: str = "") -> Default:
        self.permissions.require_admin(account)
        return self.store_default(prefix, owner, review_every)

    def store_default(self, prefix: str, owner: str, review_every: str) -> Default:
        """Set a namespace default without asking who (the command line is trusted)."""
        prefix = paths.normalize(prefix) if prefix.strip("/ ") else ""
        owner = self.check_owner(owner) if owner.strip() else ""
        review_every = review_every.strip()
        if review_every:
            parse_interval(review_every)
        if not owner and not review_every:
            raise InvalidInput("Give an owner, a review interval or both.")
        with self.db.session() as s:
            s.merge(ReviewDefault(key=paths.key(prefix) if prefix else "", prefix=prefix,
                                  owner=owner, review_every=review_every))
        self._defaults = None
        return Default(prefix, owner, review_every)

    def remove_default(self, account: Account, prefix: str) -> None:
        self.permissions.require_admin(account)
        self.drop_default(prefix)

    def drop_default(self, prefix: str) -> None:
        key = paths.key(paths.normalize(prefix)) if prefix.strip("/ ") else ""
        with self.db.session() as s:
            s.execute(delete(ReviewDefault).where(ReviewDefault.key == key))
        self._defaults = None

    def check_owner(self, owner: str) -> str:
        """The owner, normalized, if that user or group exists; InvalidInput otherwise."""
        owner = parse_owner(owner)
        if owner not in self._owners():
            raise InvalidInput(f"There is no {owner.replace(':', ' ')}.")
        return owner

    def check_text(self, name: str, text: str) -> None:
        """Refuse a page text whose owner or interval is not valid (the web, the API and the
        push policy all ask this before anything is written)."""
        meta, _ = split_front_matter(text)
        with self.db.session() as s:
            stored = s.get(FreshnessRow, paths.key(name))
        if stored is not None and str(meta.get("owner") or "") == stored.owner and \
                str(meta.get("review_every") or "") == stored.review_every:
            return  # unchanged: an owner who left since does not block edits of the page
        if meta.get("owner") not in (None, ""):
            self.check_owner(meta["owner"]) if isinstance(meta["owner"], str) else \
                parse_owner(None)
        if meta.get("review_every") not in (None, ""):
            parse_interval(meta["review_every"])

    # --- reports -------------------------------------------------------------------------------

    def report(self, account: Account, prefix: str = "", owner: str = "",
               states: Iterable[str] = ()) -> list[Freshness]:
        """Freshness of every page the account may read, most overdue first."""
        self.permissions.require_read(account)
        prefix = paths.normalize(prefix) if prefix.strip("/ ") else ""
        owner = parse_owner(owner) if owner.strip() else ""
        self._ensure_filled()
        query = select(FreshnessRow)
        if prefix:
            query = query.where(FreshnessRow.key.startswith(paths.key(prefix) + "/",
                                                            autoescape=True))
        with self.db.session() as s:
            rows = list(s.scalars(query))
        defaults, owners, today = self._default_map(), self._owners(), self.today()
        wanted = set(states)
        result = []
        for row in rows:
            if not self.permissions.can_read(account, row.name):
                continue
            fresh = self._resolve(row, defaults, owners, today)
            if owner and fresh.owner != owner or wanted and fresh.state not in wanted:
                continue
            result.append(fresh)
        order = {s: i for i, s in enumerate(STATES)}
        result.sort(key=lambda f: (order[f.state], f.review_by or date.max, f.name.lower()))
        return result

    def links(self, account: Account, prefix: str = "") -> LinkReport:
        """Broken links, wanted pages and orphans among the pages the account may read;
        a link from or to a page it may not read does not exist for it."""
        self.permissions.require_read(account)
        prefix = paths.normalize(prefix) if prefix.strip("/ ") else ""
        self.catalog.ensure_current()
        under = (paths.key(prefix) + "/") if prefix else ""
        with self.db.engine.connect() as c:
            pages = {k: (n, u) for k, n, u in c.execute(
                select(PageRow.key, PageRow.name, PageRow.updated))}
            links = c.execute(select(LinkRow.source_key, LinkRow.target_key,
                                     LinkRow.target_name)).all()
        readable = {k for k, (n, _) in pages.items()
                    if self.permissions.can_read(account, n)}
        broken, wanted, linked = [], {}, set()
        for source, target, target_name in links:
            if source not in readable or target == source:
                continue
            if target in pages:
                linked.add(target)
                continue
            if not self.permissions.can_read(account, target_name):
                continue
            if source.startswith(under):
                broken.append((pages[source][0], target_name))
            if target.startswith(under):
                name, count = wanted.get(target, (target_name, 0))
                wanted[target] = (name, count + 1)
        cutoff = datetime.now(UTC) - timedelta(days=STALE_DAYS)
        mine = sorted(k for k in readable if k.startswith(under))
        orphans = [pages[k][0] for k in mine if k not in linked]
        stale = sorted(((pages[k][0], pages[k][1]) for k in mine
                        if pages[k][1].replace(tzinfo=UTC) < cutoff), key=lambda p: p[1])
        return LinkReport(broken=sorted(broken, key=lambda b: (b[0].lower(), b[1].lower())),
                          wanted=sorted(wanted.values(), key=lambda w: (-w[1], w[0].lower())),
                          orphans=orphans, stale=stale)

    # --- reminders -----------------------------------------------------------------------------

    def remind(self) -> int:
        """Tell each owner, in one inbox item, which of their pages became due or overdue
        since the last run; each page and state reaches them once. Returns the items sent."""
        self._ensure_filled()
        with self.db.session() as s:
            rows = list(s.scalars(select(FreshnessRow)))
            told = {r.page_key: (r.state, r.review_by) for r in s.scalars(select(ReviewReminder))}
        defaults, owners, today = self._default_map(), self._owners(), self.today()
        news: dict[str, list[Freshness]] = {}
        for row in rows:
            fresh = self._resolve(row, defaults, owners, today)
            if fresh.state not in ("due", "overdue"):
                continue
            if told.get(row.key) == (fresh.state, fresh.review_by.isoformat()):
                continue
            news.setdefault(fresh.owner, []).append(fresh)
        pending = []
        with self.db.session() as s:
            for owner, pages in sorted(news.items()):
                for fresh in pages:
                    s.merge(ReviewReminder(page_key=paths.key(fresh.name), state=fresh.state,
                                           review_by=fresh.review_by.isoformat()))
                owner_ids = self._owner_ids(s, owner)
                users = list(s.scalars(select(User).where(User.id.in_(owner_ids))))
                for user in users:
                    account = account_of(user)
                    shown = [f for f in pages if self.permissions.can_read(account, f.name)]
                    if not shown:
                        continue
                    shown.sort(key=lambda f: (f.state != "overdue", f.review_by, f.name))
                    summary = "; ".join(f"{f.name} ({f.state}, {f.review_by.isoformat()})"
                                        for f in shown)
                    pending.append((user.id, shown[0].name, summary))
        # After the transaction: the inbox items go out once the reminders are recorded.
        for user_id, first, summary in pending:
            self.notify.tell({user_id}, "review", first, actor="", summary=summary)
        return len(pending)

    # --- counts for screens ---------------------------------------------------------------------

    def open_flag_count(self, account: Account) -> int:
        """Open flags on pages this account may change (the editors' report)."""
        with self.db.session() as s:
            rows = s.execute(select(PageFlag.page_name, func.count(PageFlag.id))
                             .where(PageFlag.closed.is_(None))
                             .group_by(PageFlag.page_name)).all()
        return sum(n for name, n in rows if self.permissions.can_write(account, name))

    def flags_report(self, account: Account) -> list[Flag]:
        with self.db.session() as s:
            rows = list(s.scalars(select(PageFlag).where(PageFlag.closed.is_(None))
                                  .order_by(PageFlag.id.desc()).limit(1000)))
        return [self._flag(r) for r in rows if self.permissions.can_write(account, r.page_name)]
