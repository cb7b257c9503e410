"""The derived page catalog and the catch-up step that keeps it in step with git.

Whatever moves the branch (a web save, a push, an import) ends by calling `catch_up()`, which
processes the commits `indexed..HEAD`: per-page revision lists (following renames), the page
table (title, tags, last change), backlinks and tags, then tells listeners (search index,
notifications) which pages changed. Everything here is derived: `rebuild()` recreates it
from git alone.
"""

import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, func, insert, or_, select

from wiki import paths
from wiki.db import (
    DERIVED_TABLES,
    Database,
    LinkRow,
    PageRow,
    Push,
    RevisionRow,
    State,
    TagRow,
)
from wiki.errors import RepositoryBusy
from wiki.locks import file_lock
from wiki.render import Renderer
from wiki.repo import Author, CommitInfo, Delete, HeadMoved, NothingToCommit, Repository, Write

INDEXED = "indexed_commit"
GENERATION = "generation"
BATCH_TREE_THRESHOLD = 20  # above this many changed pages, one ls-tree beats one call each
KEYS_PER_STATEMENT = 500  # page keys in one `IN (…)` (SQLite allows 32,766 variables)
MEMO_LIMIT = 20_000  # answers remembered per process for the current HEAD
CAS_RETRIES = 5  # a push that lands between reading HEAD and moving the branch: plan again
MAX_MESSAGE_CHARS = 1000
SYSTEM_AUTHOR = Author("Kennis", "kennis@kennis.invalid")  # starter pages, imports


@dataclass(frozen=True)
class PageInfo:
    name: str
    key: str
    blob: str
    title: str
    tags: tuple[str, ...]
    lang: str
    revision: str
    author: str
    author_email: str
    updated: datetime
    pushed_by: str = ""  # who pushed the last change, when not its author (see _shown)


@dataclass(frozen=True)
class RevisionInfo:
    revision: str
    name: str  # the page's name in that revision
    action: str  # create, edit, delete, rename
    old_name: str
    page_key: str  # the key of the page today (history follows renames)
    author: str
    author_email: str
    date: datetime
    message: str
    pushed_by: str = ""  # who pushed this commit, when not its author (see _shown)


@dataclass(frozen=True)
class PageChange:
    """What a listener hears: the page `key` now has `name`/`blob`, or is gone (`name` None)."""

    key: str
    name: str | None
    blob: str | None
    text: str | None
    info: PageInfo | None


@dataclass(frozen=True)
class Change:
    """What one write commits: the files it writes or deletes, and the commit message."""

    files: Sequence[Write | Delete]
    message: str


def commit_message(message, default: str) -> str:
    """The summary a person typed, or `default` when they typed none."""
    message = (message or "").strip() if isinstance(message, str) else ""
    return message[:MAX_MESSAGE_CHARS] or default


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _shown(recorded: str, pusher: str | None, own: bool | None) -> tuple[str, str]:
    """(author, pushed_by) as the wiki shows a commit. A web edit records the account name.
    A pushed commit records whatever the pusher chose: when its address was the pusher's,
    the pusher's account is shown; otherwise the recorded name, with who pushed it."""
    if not pusher:
        return recorded, ""
    return (pusher, "") if own else (recorded, pusher)


# Rows are read together with who pushed their commit, if anyone (an outer join).
_PUSHER = (Push.account.label("pusher"), Push.own.label("pusher_own"))


def _with_pusher(entity, revision_column):
    return select(entity, *_PUSHER).outerjoin(Push, Push.commit == revision_column)


def _page(row: PageRow, pusher: str | None = None, own: bool | None = None) -> PageInfo:
    author, pushed_by = _shown(row.author_name, pusher, own)
    return PageInfo(name=row.name, key=row.key, blob=row.blob, title=row.title,
                    tags=tuple(t for t in row.tags.split(" ") if t), lang=row.lang,
                    revision=row.revision, author=author, author_email=row.author_email,
                    updated=_aware(row.updated), pushed_by=pushed_by)


def _revision(row: RevisionRow, pusher: str | None = None, own: bool | None = None
              ) -> RevisionInfo:
    old_name = (paths.from_file(row.old_path) or row.old_path) if row.old_path else ""
    author, pushed_by = _shown(row.author_name, pusher, own)
    return RevisionInfo(revision=row.revision, name=paths.from_file(row.path) or row.path,
                        action=row.action, old_name=old_name, page_key=row.page_key,
                        author=author, author_email=row.author_email, date=row.date,
                        message=row.message, pushed_by=pushed_by)


class Catalog:
    def __init__(self, db: Database, repo: Repository, renderer: Renderer, lock_dir: Path):
        self.db = db
        self.repo = repo
        self.renderer = renderer
        self.lock_path = Path(lock_dir) / "catch-up.lock"
        self.listeners: list[Callable[[list[PageChange], bool], None]] = []
        self._seen_head: str | None = None
        # Per-process answers for page views, dropped page by page as revisions arrive.
        self._memo: dict = {}
        self._memo_head: str | None = None
        self._memo_mark: tuple | None = None  # (rebuild generation, highest revision seq)
        self._memo_epoch = 0  # bumped at every invalidation: stale computations are not kept
        self._keys: set[str] | None = None  # keys of every existing page
        self._memo_lock = threading.Lock()

    # --- keeping up with git -----------------------------------------------------------------

    def ensure_current(self) -> str | None:
        """Catch up if the branch moved since this process last looked (cheap when it did not)."""
        head = self.repo.head()
        if head != self._seen_head:
            self.catch_up()
            self._seen_head = head
        return head

    @property
    def seen_head(self) -> str | None:
        """The HEAD this process last caught up to."""
        return self._seen_head

    def commit(self, plan: Callable[[str | None], Change], author: Author) -> str | None:
        """The one write transaction of the wiki; returns the new revision, None when the
        plan changes nothing.

        Under the cross-process write lock, `plan(head)` decides what to change on top of the
        branch head this process has caught up to (it may raise to refuse: nothing is written).
        The branch moves by compare-and-swap; when a push landed meanwhile, the plan runs again
        on the new head. Every write ends in the same catch-up step as a push.
        """
        with self.repo.write_lock():
            for _attempt in range(CAS_RETRIES):
                head = self.ensure_current()
                change = plan(head)
                try:
                    revision = self.repo.commit(change.files, change.message, author,
                                                parent=head)
                except NothingToCommit:
                    return None
                except HeadMoved:
                    continue
                self.catch_up()
                return revision
        raise RepositoryBusy("The wiki kept changing while saving; please try again.")

    def indexed(self) -> str | None:
        with self.db.session() as s:
            row = s.get(State, INDEXED)
            return row.value if row and row.value else None

    def catch_up(self) -> int:
        """Process every commit not yet reflected; returns how many were processed."""
        with file_lock(self.lock_path, timeout=300):
            head = self.repo.head()
            indexed = self.indexed()
            if head == indexed:
                return 0
            made = self.repo.made(head)
            if made is not None and indexed is not None and made.info.parents == (indexed,):
                # Our own save, just made on top of what is indexed: no `git log`, and the
                # blob ids of what it wrote are known.
                full, commits, known = False, [made.info], made.blobs
            else:
                full = indexed is None or head is None or not self._reachable(indexed, head)
                commits = [] if head is None else self.repo.log(
                    since=None if full else indexed, until=head, reverse=True)
                known = {}
            changes = self._apply(commits, head, full, known)
        # Listeners ask the catalog about the new state: this process has seen HEAD first.
        self._seen_head = head
        for listener in self.listeners:
            listener(changes, full)
        return len(commits)

    def rebuild(self) -> int:
        with self.db.session() as s:
            s.merge(State(name=INDEXED, value=""))
        return self.catch_up()

    def _reachable(self, indexed: str, head: str) -> bool:
        try:
            return self.repo.is_ancestor(indexed, head)
        except Exception:  # an unknown commit (history rewritten): rebuild from scratch
            return False

    def _apply(self, commits: list[CommitInfo], head: str | None, full: bool,
               known: dict[str, str]) -> list[PageChange]:
        final_path: dict[str, str | None] = {}
        last_commit: dict[str, CommitInfo] = {}
        with self.db.session() as s:
            if full:
                for table in DERIVED_TABLES:
                    s.execute(delete(table))
                # Tells every process that its memo of the catalog is void.
                s.merge(State(name=GENERATION, value=uuid.uuid4().hex))
            seq = (s.scalar(select(func.max(RevisionRow.seq))) or 0) + 1
            for commit in commits:
                for change in commit.changes:
                    seq = self._record(s, commit, change, seq, final_path, last_commit)
            pages = self._refresh_pages(s, head, final_path, last_commit, known)
            s.merge(State(name=INDEXED, value=head or ""))
        return pages

    def _record(self, s, commit, change, seq, final_path, last_commit) -> int:
        new_name = paths.from_file(change.path)
        old_name = paths.from_file(change.old_path) if change.old_path else None
        if change.status == "R" and old_name and new_name:
            old_key, new_key = paths.key(old_name), paths.key(new_name)
            if old_key != new_key:
                # History follows the page: earlier rows move to the new name.
                s.execute(RevisionRow.__table__.update()
                          .where(RevisionRow.page_key == old_key).values(page_key=new_key))
                final_path[old_key] = None
            action, old_path = "rename", change.old_path
        elif change.status == "R":
            # A page renamed to a non-page is a deletion; the reverse is a creation.
            if old_name:
                seq = self._add_row(s, commit, paths.key(old_name), change.old_path, "delete",
                                    "", seq)
                final_path[paths.key(old_name)] = None
                last_commit[paths.key(old_name)] = commit
            if not new_name:
                return seq
            action, old_path = "create", ""
        else:
            if not new_name:
                return seq
            action = {"A": "create", "D": "delete"}.get(change.status, "edit")
            old_path = ""
        key = paths.key(new_name)
        seq = self._add_row(s, commit, key, change.path, action, old_path, seq)
        final_path[key] = None if action == "delete" else change.path
        last_commit[key] = commit
        return seq

    @staticmethod
    def _add_row(s, commit, key, path, action, old_path, seq) -> int:
        old_name = paths.from_file(old_path) if old_path else None
        s.add(RevisionRow(page_key=key, path=path, revision=commit.id, action=action,
                          old_path=old_path, old_key=paths.key(old_name) if old_name else "",
                          author_name=commit.author.name, author_email=commit.author.email,
                          date=commit.date, message=commit.message, seq=seq))
        return seq + 1

    def _refresh_pages(self, s, head, final_path, last_commit, known) -> list[PageChange]:
        alive = {k: p for k, p in final_path.items() if p}
        if all(p in known for p in alive.values()):
            blobs = {k: known[p] for k, p in alive.items()}
        elif len(alive) > BATCH_TREE_THRESHOLD:
            tree = self.repo.tree(head)
            blobs = {k: tree.get(p) for k, p in alive.items()}
        else:
            blobs = {k: self.repo.blob_id(head, p) for k, p in alive.items()}
        texts = self.repo.read_many([b for b in blobs.values() if b])
        # The changed pages' rows go, then come back in bulk (a full rebuild writes every
        # page: one statement per table and chunk instead of three per page).
        keys = list(final_path)
        for start in range(0, len(keys), KEYS_PER_STATEMENT):
            chunk = keys[start:start + KEYS_PER_STATEMENT]
            s.execute(delete(LinkRow).where(LinkRow.source_key.in_(chunk)))
            s.execute(delete(TagRow).where(TagRow.page_key.in_(chunk)))
            s.execute(delete(PageRow).where(PageRow.key.in_(chunk)))
        pushers = self._pushers(s, {c.id for c in last_commit.values()})
        changes: list[PageChange] = []
        rows: list[dict] = []
        links: dict[tuple[str, str], str] = {}
        tags: set[tuple[str, str]] = set()
        for key, path in final_path.items():
            blob = blobs.get(key)
            if not path or not blob:
                changes.append(PageChange(key, None, None, None, None))
                continue
            text = texts[blob].decode("utf-8", errors="replace")
            rendered = self.renderer.render(text, cache_key=blob)
            name = paths.from_file(path)
            commit = last_commit[key]
            row = dict(key=key, name=name, blob=blob,
                       title=rendered.title or paths.leaf(name), tags=" ".join(rendered.tags),
                       lang=rendered.lang or "", revision=commit.id,
                       author_name=commit.author.name, author_email=commit.author.email,
                       updated=commit.date)
            rows.append(row)
            for target in rendered.links:  # a target linked twice: the last name (as before)
                links[key, paths.key(target)] = target
            tags.update((key, tag) for tag in rendered.tags)
            changes.append(PageChange(key, name, blob, text,
                                      _page(PageRow(**row), *pushers.get(commit.id, (None, None)))))
        if rows:
            s.execute(insert(PageRow), rows)
        if links:
            s.execute(insert(LinkRow), [dict(source_key=k, target_key=t, target_name=n)
                                        for (k, t), n in links.items()])
        if tags:
            s.execute(insert(TagRow), [dict(page_key=k, tag=t) for k, t in tags])
        return changes

    @staticmethod
    def _pushers(s, commits: set[str]) -> dict[str, tuple[str, bool]]:
        """commit -> (pusher, own) for those of `commits` that came by a push."""
        found: dict[str, tuple[str, bool]] = {}
        ids = sorted(commits)
        for start in range(0, len(ids), KEYS_PER_STATEMENT):
            rows = s.execute(select(Push.commit, Push.account, Push.own)
                             .where(Push.commit.in_(ids[start:start + KEYS_PER_STATEMENT])))
            found.update({c: (a, o) for c, a, o in rows})
        return found

    def record_push(self, account: str, commits: dict[str, bool]) -> None:
        """Keep who pushed these commits (commit -> whether its author was the pusher).
        Not derived data: a rebuild keeps it. A commit pushed again keeps its first pusher."""
        if not commits:
            return
        with self.db.session() as s:
            known = set(self._pushers(s, set(commits)))
            s.add_all(Push(commit=c, account=account, own=own)
                      for c, own in commits.items() if c not in known)

    # --- questions -----------------------------------------------------------------------------

    def _remembered(self, kind: str, key: str, compute):
        """Answer a question about page `key` from this process's memo, else compute it.

        Page views ask the same questions over and over; an answer only changes when a
        revision of that page arrives. When this process sees a new HEAD, it reads which page
        keys have revisions it has not seen yet and forgets just those (everything after a
        full rebuild). A computation that an invalidation overtook is not kept.
        """
        if self._memo_head != self._seen_head:
            self._invalidate()
        memo, epoch = self._memo, self._memo_epoch
        try:
            return memo[kind, key]
        except KeyError:
            value = compute()
            with self._memo_lock:
                if epoch == self._memo_epoch and memo is self._memo:
                    if len(memo) > MEMO_LIMIT:
                        self._memo = memo = {}
                    memo[kind, key] = value
            return value

    def _invalidate(self) -> None:
        with self._memo_lock:
            head = self._seen_head
            if self._memo_head == head:
                return
            with self.db.engine.connect() as c:
                generation = c.scalar(select(State.value).where(State.name == GENERATION))
                top = c.scalar(select(func.max(RevisionRow.seq))) or 0
                previous = self._memo_mark
                changed: set[str] | None = None
                if previous and previous[0] == generation and previous[1] <= top:
                    rows = c.execute(select(RevisionRow.page_key, RevisionRow.old_key)
                                     .where(RevisionRow.seq > previous[1])).all()
                    changed = {k for row in rows for k in row if k}
                if changed is None or len(changed) > 1000:
                    self._memo, self._keys = {}, None
                else:
                    self._memo = {k: v for k, v in self._memo.items() if k[1] not in changed}
                    if self._keys is not None and changed:
                        alive = set(c.scalars(select(PageRow.key)
                                              .where(PageRow.key.in_(changed))))
                        self._keys = (self._keys - changed) | alive
            self._memo_mark = (generation, top)
            self._memo_epoch += 1
            self._memo_head = head

    def _page_keys(self) -> set[str]:
        if self._memo_head != self._seen_head:
            self._invalidate()
        keys = self._keys
        if keys is None:
            epoch = self._memo_epoch
            with self.db.engine.connect() as c:
                keys = set(c.scalars(select(PageRow.key)))
            with self._memo_lock:
                if epoch == self._memo_epoch:
                    self._keys = keys
        return keys

    def page(self, name: str) -> PageInfo | None:
        key = paths.key(name)
        return self._remembered("page", key, lambda: self._load_page(key))

    def _load_page(self, key: str) -> PageInfo | None:
        with self.db.engine.connect() as c:
            row = c.execute(_with_pusher(PageRow.__table__, PageRow.revision)
                            .where(PageRow.key == key)).first()
        if row is None:
            return None
        return _page(row, row.pusher, row.pusher_own)

    def pages(self, prefix: str = "", limit: int | None = None, offset: int = 0
              ) -> tuple[int, list[PageInfo]]:
        query = _with_pusher(PageRow, PageRow.revision)
        count = select(func.count(PageRow.key))
        if prefix:
            pkey = paths.key(prefix.strip("/")) + "/"
            query = query.where(PageRow.key.startswith(pkey, autoescape=True))
            count = count.where(PageRow.key.startswith(pkey, autoescape=True))
        with self.db.session() as s:
            total = s.scalar(count) or 0
            rows = s.execute(query.order_by(PageRow.key).offset(offset).limit(limit))
            return total, [_page(*r) for r in rows]

    def existing(self, names: Iterable[str]) -> set[str]:
        """Which of these page names exist (compared case-insensitively)."""
        keys = self._page_keys()
        return {n for n in names if paths.key(n) in keys}

    def history(self, name: str, limit: int | None = None, offset: int = 0
                ) -> list[RevisionInfo]:
        with self.db.session() as s:
            rows = s.execute(_with_pusher(RevisionRow, RevisionRow.revision)
                             .where(RevisionRow.page_key == paths.key(name))
                             .order_by(RevisionRow.seq.desc()).offset(offset).limit(limit))
            return [_revision(*r) for r in rows]

    def revision(self, name: str, revision: str) -> RevisionInfo | None:
        """The history row of this page at commit `revision` (full id)."""
        with self.db.session() as s:
            row = s.execute(_with_pusher(RevisionRow, RevisionRow.revision)
                            .where(RevisionRow.page_key == paths.key(name),
                                   RevisionRow.revision == revision)).first()
            return _revision(*row) if row else None

    def revisions_since(self, name: str, revision: str) -> list[RevisionInfo] | None:
        """Rows of this page newer than `revision`, or None if it is not in the page's history."""
        with self.db.session() as s:
            base = s.scalar(select(RevisionRow.seq).where(
                RevisionRow.page_key == paths.key(name), RevisionRow.revision == revision))
            if base is None:
                return None
            rows = s.execute(_with_pusher(RevisionRow, RevisionRow.revision)
                             .where(RevisionRow.page_key == paths.key(name),
                                    RevisionRow.seq > base)
                             .order_by(RevisionRow.seq))
            return [_revision(*r) for r in rows]

    def contributors(self, name: str) -> list[tuple[str, int]]:
        key = paths.key(name)
        return self._remembered("contributors", key, lambda: self._contributors(key))

    def _contributors(self, key: str) -> list[tuple[str, int]]:
        # A pushed commit counts for its pusher: the account behind it, whatever author
        # the commit names.
        who = func.coalesce(Push.account, RevisionRow.author_name)
        with self.db.session() as s:
            rows = s.execute(select(who, func.count(RevisionRow.id))
                             .outerjoin(Push, Push.commit == RevisionRow.revision)
                             .where(RevisionRow.page_key == key)
                             .group_by(who)
                             .order_by(func.count(RevisionRow.id).desc(), who))
            return [(n, c) for n, c in rows]

    def renamed_to(self, name: str) -> str | None:
        """The current name of a page that was once called `name`, if it still exists."""
        with self.db.session() as s:
            row = s.scalar(select(RevisionRow).where(RevisionRow.old_key == paths.key(name),
                                                     RevisionRow.action == "rename")
                           .order_by(RevisionRow.seq.desc()).limit(1))
            if not row:
                return None
            page = s.get(PageRow, row.page_key)
            return page.name if page else None

    def recent(self, limit: int = 50, offset: int = 0, prefix: str = "") -> list[RevisionInfo]:
        query = _with_pusher(RevisionRow, RevisionRow.revision)
        if prefix:
            query = query.where(or_(RevisionRow.page_key.startswith(
                paths.key(prefix.strip("/")) + "/", autoescape=True)))
        with self.db.session() as s:
            rows = s.execute(query.order_by(RevisionRow.seq.desc()).offset(offset).limit(limit))
            return [_revision(*r) for r in rows]

    def backlinks(self, name: str) -> list[PageInfo]:
        with self.db.session() as s:
            rows = s.execute(_with_pusher(PageRow, PageRow.revision)
                             .join(LinkRow, LinkRow.source_key == PageRow.key)
                             .where(LinkRow.target_key == paths.key(name))
                             .order_by(PageRow.key))
            return [_page(*r) for r in rows]

    def tags(self) -> list[tuple[str, int]]:
        with self.db.session() as s:
            rows = s.execute(select(TagRow.tag, func.count(TagRow.page_key))
                             .group_by(TagRow.tag).order_by(TagRow.tag))
            return [(t, c) for t, c in rows]

    def tagged(self, tag: str) -> list[PageInfo]:
        with self.db.session() as s:
            rows = s.execute(_with_pusher(PageRow, PageRow.revision)
                             .join(TagRow, TagRow.page_key == PageRow.key)
                             .where(TagRow.tag == tag.lower()).order_by(PageRow.key))
            return [_page(*r) for r in rows]

    def check(self) -> list[str]:
        """Problems between the derived data and git, in plain words (empty when healthy)."""
        problems = []
        head = self.repo.head()
        indexed = self.indexed()
        if head != indexed:
            problems.append(f"The page catalog reflects {indexed or 'nothing'}, "
                            f"but the wiki is at {head}; run `wiki reindex`.")
            return problems
        tree = self.repo.tree(head) if head else {}
        in_git = {paths.key(n): (n, blob) for path, blob in tree.items()
                  if (n := paths.from_file(path))}
        with self.db.session() as s:
            in_db = {r.key: (r.name, r.blob) for r in s.scalars(select(PageRow))}
        for key in in_git.keys() - in_db.keys():
            problems.append(f"The page {in_git[key][0]} is in git but missing from the catalog.")
        for key in in_db.keys() - in_git.keys():
            problems.append(f"The catalog lists {in_db[key][0]}, which is not in git.")
        for key in in_git.keys() & in_db.keys():
            if in_git[key][1] != in_db[key][1]:
                problems.append(f"The catalog has an old version of {in_git[key][0]}.")
        return problems
