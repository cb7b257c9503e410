"""Page use cases: view, save (with 3-way merge), delete, restore, rename, revert, history.

Plain values in, dataclasses out; no Flask. Every method asks `Permissions` first, so views,
the API and later git and search all obey the same rules.
"""

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from wiki import conflicts, paths
from wiki.catalog import Catalog, Change, PageInfo, RevisionInfo, commit_message
from wiki.config import Settings
from wiki.diffs import Diff, compare
from wiki.errors import (
    EditConflict,
    InvalidInput,
    PageExists,
    PageNotFound,
    PageTooLarge,
    RevisionNotFound,
    UnresolvedConflict,
)
from wiki.names import NewNames
from wiki.permissions import Permissions
from wiki.render import MAX_WIKILINK_CHARS, Heading, Rendered, Renderer
from wiki.repo import Author, BlameLine, Delete, Repository, Write
from wiki.users import Account, commit_author

MAX_OFFSET = 10**9  # as the API allows; SQL integers end at 2**63 (an OverflowError, a 500)
# A wikilink as the renderer reads it: `[[` up to the first `]]` within MAX_WIKILINK_CHARS,
# no newline or `[` inside. The text stops at every `[`, so the scan stays linear; the earlier
# `\[\[\s*(...+?)\s*` pattern backtracked cubically (2,000 spaces after a `[[` took 70 s,
# holding the write lock during a rename).
_WIKILINK = re.compile(rf"\[\[([^\[\n]{{0,{MAX_WIKILINK_CHARS - 2}}}?)\]\]")


@dataclass(frozen=True)
class Page:
    name: str
    title: str
    html: str
    toc: tuple[Heading, ...]
    tags: tuple[str, ...]
    revision: str
    author: str
    updated: datetime
    current: bool  # False when showing an old revision
    too_complex: bool = False  # html is the text in a <pre> (render.Rendered.too_complex)
    pushed_by: str = ""  # who pushed this version with git, when not its author


@dataclass(frozen=True)
class Source:
    name: str
    markdown: str
    revision: str | None  # None for a page that does not exist yet


@dataclass(frozen=True)
class SaveResult:
    name: str
    revision: str
    created: bool = False
    merged: bool = False
    unchanged: bool = False


@dataclass(frozen=True)
class DiffResult:
    name: str
    from_revision: str | None
    to_revision: str | None
    diff: Diff


def _normalize_text(markdown) -> str:
    if not isinstance(markdown, str):
        raise InvalidInput("The page text must be text.")
    if "\x00" in markdown:
        raise InvalidInput("The page text cannot contain NUL characters.")
    text = markdown.replace("\r\n", "\n").replace("\r", "\n")
    return text if not text or text.endswith("\n") else text + "\n"


class Pages:
    def __init__(self, repo: Repository, catalog: Catalog, renderer: Renderer,
                 permissions: Permissions, settings: Settings,
                 audit: Callable[[str, str, str, str], None] | None = None,
                 names: NewNames | None = None):
        self.repo = repo
        self.names = names or NewNames(catalog, permissions)  # rules for new names
        # audit(actor, action, subject, detail): deletions and renames go in the audit log.
        self.audit = audit
        self.catalog = catalog
        self.renderer = renderer
        self.permissions = permissions
        self.settings = settings
        # (page name, html) -> html for stored pages, e.g. links to the page's attached files.
        self.html_filters: list[Callable[[str, str], str]] = []
        # (page name, text) -> None, raising InvalidInput: checks of front matter values.
        self.text_checks: list[Callable[[str, str], None]] = []

    # --- reading -------------------------------------------------------------------------------

    def find(self, account: Account, name: str) -> PageInfo:
        """The stored page for a name typed in any case; PageNotFound when absent or hidden."""
        name = paths.normalize(name)
        self.catalog.ensure_current()
        info = self.catalog.page(name)
        if info is None or not self.permissions.can_read(account, info.name):
            self.permissions.require_read(account, name)
            raise PageNotFound()
        return info

    def renamed_to(self, account: Account, name: str) -> str | None:
        name = paths.normalize(name)
        target = self.catalog.renamed_to(name)
        readable = self.permissions.can_read
        # A hidden old name stays a missing page, even when the page now lives elsewhere.
        return target if target and readable(account, target) and readable(account, name) \
            else None

    def _shown(self, account: Account, rows: list[RevisionInfo]) -> list[RevisionInfo]:
        """The history rows this account may see: the page under its name then and now. A
        page that left a hidden namespace keeps its past there, and the rename row does not
        say where it came from."""
        readable = self.permissions.can_read
        shown = []
        for row in rows:
            if readable(account, row.name) and readable(account, row.page_key):
                if row.old_name and not readable(account, row.old_name):
                    # Its message ("Rename Secret/Plan to …") may name it as well.
                    row = dataclasses.replace(row, old_name="", message="")
                shown.append(row)
        return shown

    def view(self, account: Account, name: str) -> Page:
        info = self.find(account, name)
        rendered = self._render_blob(info.blob)
        return self._page(account, info.name, rendered, info.revision, info.author,
                          info.updated, current=True, title=info.title,
                          pushed_by=info.pushed_by)

    def _render_blob(self, blob: str) -> Rendered:
        rendered = self.renderer.cached(blob)
        if rendered is None:
            text = self.repo.read_blob(blob).decode("utf-8", errors="replace")
            rendered = self.renderer.render(text, cache_key=blob)
        return rendered

    def _page(self, account, name, rendered: Rendered, revision, author, updated, current,
              title=None, pushed_by=""):
        html = rendered.html
        if rendered.links:
            # A page this reader may not see is shown as missing, like everywhere else.
            existing = {n for n in self.catalog.existing(rendered.links)
                        if self.permissions.can_read(account, n)}
            missing = set(rendered.links) - existing
            if missing:
                html = self.renderer.mark_missing(html, missing)
        if revision:  # a stored page, not a preview
            for html_filter in self.html_filters:
                html = html_filter(name, html)
        return Page(name=name, title=title or rendered.title or paths.leaf(name), html=html,
                    toc=rendered.toc, tags=rendered.tags, revision=revision, author=author,
                    updated=updated, current=current, too_complex=rendered.too_complex,
                    pushed_by=pushed_by)

    def source(self, account: Account, name: str, revision: str | None = None) -> Source:
        """The Markdown of a page (at a revision); a missing page gives an empty new source."""
        name = paths.normalize(name)
        if revision:
            info = self._old(account, name, revision)
            _, data = self.repo.read(info.revision, paths.to_file(info.name))
            return Source(name=self._current_name(account, name), markdown=data.decode(
                "utf-8", errors="replace"), revision=info.revision)
        try:
            info = self.find(account, name)
        except PageNotFound:
            self.permissions.require_read(account, name)
            return Source(name=name, markdown="", revision=None)
        text = self.repo.read_blob(info.blob).decode("utf-8", errors="replace")
        return Source(name=info.name, markdown=text, revision=info.revision)

    def _current_name(self, account, name) -> str:
        info = self.catalog.page(name)
        return info.name if info else name

    def _old(self, account: Account, name: str, revision: str) -> RevisionInfo:
        """The history row of the page at `revision`, checked and resolved."""
        revision = paths.revision(revision)
        self.permissions.require_read(account, name)
        # A full id in the page's history is a commit already: no git process to check it.
        row = self.catalog.revision(name, revision)
        if row is None:
            if not self.catalog.history(name, limit=1):
                raise PageNotFound()
            full = self.repo.resolve(revision)
            row = self.catalog.revision(name, full) or self._row_at(name, full)
        if row is None or row.action == "delete" or \
                not self.permissions.can_read(account, row.name):
            raise RevisionNotFound()
        return row

    def _row_at(self, name: str, commit: str) -> RevisionInfo | None:
        """The page's history row in effect at any commit of the wiki: its last revision at
        or before that commit (one `git log` over the page's paths, not one call per row)."""
        files = sorted({paths.to_file(r.name) for r in self.catalog.history(name)})
        found = self.repo.log(None, until=commit, paths=files, with_changes=False, limit=1)
        return self.catalog.revision(name, found[0].id) if found else None

    def at_revision(self, account: Account, name: str, revision: str) -> Page:
        name = paths.normalize(name)
        row = self._old(account, name, revision)
        blob, _ = self.repo.read(row.revision, paths.to_file(row.name))
        rendered = self._render_blob(blob)
        head = self.catalog.page(name)
        return self._page(account, self._current_name(account, name), rendered, row.revision,
                          row.author, row.date,
                          current=bool(head and head.revision == row.revision),
                          pushed_by=row.pushed_by)

    def history(self, account: Account, name: str, limit: int | None = None,
                offset: int = 0) -> list[RevisionInfo]:
        name = paths.normalize(name)
        self.permissions.require_read(account, name)
        self.catalog.ensure_current()
        offset = min(max(offset, 0), MAX_OFFSET)
        rows = self.catalog.history(name, limit=limit, offset=offset)
        if not rows and offset == 0:
            raise PageNotFound()
        # Rows from before a rename out of a namespace this account may not read are its
        # past there: they end the history (they are the oldest rows).
        return self._shown(account, rows)

    def contributors(self, account: Account, name: str) -> list[tuple[str, int]]:
        self.permissions.require_read(account, name)
        return self.catalog.contributors(name)

    def diff(self, account: Account, name: str, from_rev: str | None, to_rev: str | None
             ) -> DiffResult:
        """Diff two revisions; missing `to` means the current one, missing `from` its parent."""
        name = paths.normalize(name)
        # The whole history only when a revision is left out (the 1,000-revision page).
        history = self.history(account, name) if not (from_rev and to_rev) else []
        to_row = self._old(account, name, to_rev) if to_rev else history[0]
        if from_rev:
            from_row = self._old(account, name, from_rev)
        else:  # the version just before `to`
            index = next(i for i, r in enumerate(history) if r.revision == to_row.revision)
            from_row = history[index + 1] if index + 1 < len(history) else None
        old = self._text_at(from_row) if from_row else ""
        new = self._text_at(to_row)
        diff = compare(old, new, from_label=(from_row.revision[:10] if from_row else "empty"),
                       to_label=to_row.revision[:10])
        return DiffResult(name=self._current_name(account, name),
                          from_revision=from_row.revision if from_row else None,
                          to_revision=to_row.revision, diff=diff)

    def _text_at(self, row: RevisionInfo) -> str:
        if row.action == "delete":
            return ""
        _, data = self.repo.read(row.revision, paths.to_file(row.name))
        return data.decode("utf-8", errors="replace")

    def blame(self, account: Account, name: str, revision: str | None = None
              ) -> tuple[str, list[BlameLine]]:
        name = paths.normalize(name)
        if revision:
            row = self._old(account, name, revision)
        else:
            info = self.find(account, name)
            row = self.catalog.revision(info.name, info.revision)
        lines = self.repo.blame(row.revision, paths.to_file(row.name))
        # Lines from the page's past in a namespace this account may not read (before a
        # rename out of it) keep their text, which the rename published, but not who wrote
        # them or when: history ends there too.
        rows = self.catalog.history(name)
        hidden = {r.revision for r in rows} - {r.revision for r in self._shown(account, rows)}
        if hidden:
            lines = [dataclasses.replace(line, revision="", author=Author("", ""), date=None)
                     if line.revision in hidden else line for line in lines]
        # Who wrote a line as history shows it: the pusher's account for their own pushed
        # commits, else the recorded author and who pushed it (git blame knows only authors).
        shown = {r.revision: r for r in rows if r.revision not in hidden}
        lines = [dataclasses.replace(line, author=Author(r.author, line.author.email),
                                     pushed_by=r.pushed_by)
                 if (r := shown.get(line.revision)) else line for line in lines]
        return row.revision, lines

    def backlinks(self, account: Account, name: str) -> list[PageInfo]:
        name = paths.normalize(name)
        self.permissions.require_read(account, name)
        return [p for p in self.catalog.backlinks(name)
                if self.permissions.can_read(account, p.name)]

    def index(self, account: Account, prefix: str = "", limit: int | None = None,
              offset: int = 0) -> tuple[int, list[PageInfo]]:
        self.permissions.require_read(account)
        if prefix:
            prefix = paths.normalize(prefix)
        self.catalog.ensure_current()
        default, rules = self.permissions.read_filter(account)
        if default and not rules:  # no rule can hide a page from this reader: SQL pages it
            return self.catalog.pages(prefix, limit=limit, offset=offset)
        _, pages = self.catalog.pages(prefix)
        readable = [p for p in pages if self.permissions.can_read(account, p.name)]
        end = None if limit is None else offset + limit
        return len(readable), readable[offset:end]

    def recent(self, account: Account, limit: int = 50, offset: int = 0, prefix: str = ""
               ) -> list[RevisionInfo]:
        """Changes newest first, wiki-wide or (with `prefix`) under a namespace."""
        self.permissions.require_read(account)
        self.catalog.ensure_current()
        # Filter first, then page through what is left: a hidden change must not even
        # shorten a page of results. A renamed page is checked under both names.
        readable = []
        batch, start = max(limit * 2, 100), 0
        while len(readable) < offset + limit:
            rows = self.catalog.recent(limit=batch, offset=start, prefix=prefix)
            readable += self._shown(account, rows)
            if len(rows) < batch:
                break
            start += batch
        return readable[offset:offset + limit]

    def tags(self, account: Account) -> list[tuple[str, int]]:
        self.permissions.require_read(account)
        self.catalog.ensure_current()
        default, rules = self.permissions.read_filter(account)
        if default and not rules:  # no rule can hide a page from this reader: SQL counts
            return self.catalog.tags()
        counts: dict[str, int] = {}
        for page in self.catalog.pages()[1]:
            if page.tags and self.permissions.can_read(account, page.name):
                for tag in page.tags:
                    counts[tag] = counts.get(tag, 0) + 1
        return sorted(counts.items())

    def tagged(self, account: Account, tag: str) -> list[PageInfo]:
        self.permissions.require_read(account)
        return [p for p in self.catalog.tagged(tag) if self.permissions.can_read(account, p.name)]

    def preview(self, account: Account, markdown: str, name: str | None = None) -> Page:
        """Render unsaved text; with the page's name, its links to attached files resolve."""
        self.permissions.require_read(account)
        text = _normalize_text(markdown)
        self._check_size(text)
        rendered = self.renderer.render(text)
        page = self._page(account, "preview", rendered, "", account.label, None, current=False)
        if name:
            name = paths.normalize(name)
            self.permissions.require_read(account, name)
            html = page.html
            for html_filter in self.html_filters:
                html = html_filter(name, html)
            page = dataclasses.replace(page, html=html)
        return page

    def deleted_revision(self, account: Account, name: str) -> RevisionInfo | None:
        """The deletion of a page that no longer exists, so it can be offered for restore."""
        name = paths.normalize(name)
        if not self.permissions.can_read(account, name) or self.catalog.page(name):
            return None
        rows = self.catalog.history(name, limit=1)
        return rows[0] if rows and rows[0].action == "delete" else None

    # --- writing -------------------------------------------------------------------------------

    def _check_size(self, text: str) -> bytes:
        data = text.encode("utf-8")
        if len(data) > self.settings.max_page_bytes:
            raise PageTooLarge(f"A page can be at most {self.settings.max_page_bytes:,} bytes; "
                               f"this one has {len(data):,}.")
        return data

    def save(self, account: Account, name: str, markdown: str, message: str = "",
             base_revision: str | None = None, *, allow_markers: bool = False,
             create_only: bool = False) -> SaveResult:
        """Save a page. With `base_revision` (the revision the edit started from), changes made
        by others since are merged in, or EditConflict is raised when they overlap.

        Text with conflict markers the page did not hold raises UnresolvedConflict unless
        `allow_markers`; `create_only` raises PageExists instead of overwriting a page."""
        name = paths.normalize(name)
        text = _normalize_text(markdown)
        self.permissions.require_write(account, name)
        name = self.names.check(account, name)  # a new page's name: rules and look-alikes
        self._check_size(text)
        for check in self.text_checks:
            check(name, text)
        if base_revision:
            base_revision = paths.revision(base_revision)
        outcome: dict = {}

        def plan(_head) -> Change:
            info = self.catalog.page(name)
            if info and create_only:
                raise PageExists(f"A page called {info.name} already exists.")
            stored = info.name if info else name
            if not allow_markers and conflicts.marker_blocks(text):
                stored_text = self.repo.read_blob(info.blob).decode(
                    "utf-8", errors="replace") if info else ""
                if conflicts.unresolved(text, stored_text):
                    raise UnresolvedConflict()
            text_now, merged = text, False
            if info and base_revision:  # again on every retry: a push may have landed
                text_now, merged = self._merge(account, info, text, base_revision)
            outcome.update(info=info, stored=stored, merged=merged)
            default = f"Update {stored}" if info else f"Create {stored}"
            return Change([Write(paths.to_file(stored), self._check_size(text_now))],
                          commit_message(message, default))

        revision = self.catalog.commit(plan, commit_author(account, self.settings.author_host))
        info, stored = outcome["info"], outcome["stored"]
        if revision is None:
            return SaveResult(stored, info.revision if info else "", unchanged=True)
        return SaveResult(stored, revision, created=info is None, merged=outcome["merged"])

    def _merge(self, account: Account, info: PageInfo, yours: str, base_revision: str
               ) -> tuple[str, bool]:
        theirs = self.repo.read_blob(info.blob).decode("utf-8", errors="replace")
        try:
            base_full = self.repo.resolve(base_revision)
        except RevisionNotFound as exc:
            raise InvalidInput("The base revision is not a revision of this wiki.") from exc
        if base_full == info.revision:
            return yours, False
        newer = self.catalog.revisions_since(info.name, base_full)
        if newer is None:
            # A commit of the wiki that did not touch this page: its version then is the base.
            base_row = self._row_at(info.name, base_full)
            if base_row is None or base_row.revision == info.revision:
                return yours, False
            newer = self.catalog.revisions_since(info.name, base_row.revision) or []
            base_full = base_row.revision
        base_row = self.catalog.revision(info.name, base_full)
        base_text = self._text_at(base_row) if base_row else ""
        if theirs == yours:
            return yours, False
        merged, conflict = self.repo.merge3(base_text, yours, theirs)
        mine = commit_author(account, self.settings.author_host).email
        if conflict and all(r.author_email == mine and not r.pushed_by for r in newer):
            # Only your own saves came in between (Ctrl+S twice, the back button, a second
            # tab): your newest text wins instead of conflicting with yourself. Changes that
            # do not overlap were merged above, so a second tab loses nothing of those.
            return yours, False
        if conflict:
            raise EditConflict(base=base_text, theirs=theirs, yours=yours,
                               merged_with_markers=merged, head_revision=info.revision)
        return merged, True

    def delete(self, account: Account, name: str, message: str = "") -> str:
        info = self.find(account, name)
        self.permissions.require_write(account, info.name)
        revision = self._commit(account, lambda i: [Delete(paths.to_file(i.name))], info.name,
                                message, f"Delete {info.name}")
        if self.audit:
            self.audit(account.name, "page.delete", info.name, revision)
        return revision

    def restore(self, account: Account, name: str, message: str = "") -> SaveResult:
        name = paths.normalize(name)
        self.permissions.require_write(account, name)
        deleted = self.deleted_revision(account, name)
        if deleted is None:
            raise PageNotFound("There is no deleted page with this name.")
        last = next(r for r in self.catalog.history(name) if r.action != "delete")
        text = self._text_at(last)
        return self.save(account, last.name, text, commit_message(message, f"Restore {last.name}"),
                         allow_markers=True)  # old text, not typed: restored as it was

    def revert(self, account: Account, name: str, revision: str, message: str = ""
               ) -> SaveResult:
        name = paths.normalize(name)
        self.permissions.require_write(account, name)
        row = self._old(account, name, revision)
        text = self._text_at(row)
        current = self._current_name(account, name)
        return self.save(account, current, text,
                         commit_message(message, f"Revert {current} to {row.revision[:10]}"),
                         allow_markers=True)

    def rename(self, account: Account, name: str, to: str, rewrite_links: bool = False,
               message: str = "") -> str:
        info = self.find(account, name)
        to = paths.normalize(to)
        self.permissions.require_write(account, info.name)
        self.permissions.require_write(account, to)
        to = self.names.check(account, to, ignore=info.name)
        if to == info.name:
            raise InvalidInput("The new name is the same as the old one.")
        def refuse_existing_target() -> None:
            target = self.catalog.page(to)
            if target and target.key != info.key:
                raise PageExists(f"A page called {target.name} already exists.")

        refuse_existing_target()  # early, before any work

        def changes(current: PageInfo):
            refuse_existing_target()  # again under the write lock: a page made meanwhile
            data = self.repo.read_blob(current.blob)
            result = [Delete(paths.to_file(current.name)), Write(paths.to_file(to), data)]
            result += self._moved_files(current.name, to)
            if rewrite_links:
                result += self._rewritten_links(account, current.name, to)
            return result

        revision = self._commit(account, changes, info.name, message,
                                f"Rename {info.name} to {to}")
        if self.audit:
            self.audit(account.name, "page.rename", info.name, f"to {to} ({revision})")
        return revision

    def _moved_files(self, old: str, new: str) -> list[Write | Delete]:
        """A page's attached files (beside it in its folder, not its sub-pages) move with it."""
        # The folder in any spelling: git may hold `foo/x.png` for the page `Foo` (a sub-page
        # `foo/Bar` made the folder first; attachments reuse its spelling).
        old_key = paths.key(old)
        files = {path: blob for path, blob in self.repo.tree().items()
                 if paths.key(path.rpartition("/")[0]) == old_key
                 and not path.lower().endswith(paths.PAGE_SUFFIX)}
        data = self.repo.read_many(list(files.values()))
        moved: list[Write | Delete] = []
        for path, blob in sorted(files.items()):
            moved += [Delete(path), Write(f"{new}/{path.rpartition('/')[2]}", data[blob])]
        return moved

    def _rewritten_links(self, account: Account, old: str, new: str) -> list[Write]:
        old_key = paths.key(old)
        writes = []
        for page in self.catalog.backlinks(old):
            if page.key == old_key or not self.permissions.can_write(account, page.name):
                continue
            text = self.repo.read_blob(page.blob).decode("utf-8", errors="replace")

            def swap(match: re.Match) -> str:
                target, bar, label = match.group(1).partition("|")
                try:
                    target = paths.normalize(target)
                except Exception:
                    return match.group(0)
                if paths.key(target) != old_key:
                    return match.group(0)
                return f"[[{new}{bar}{label}]]"

            new_text = _WIKILINK.sub(swap, text)
            if new_text != text:
                writes.append(Write(paths.to_file(page.name), new_text.encode("utf-8")))
        return writes

    def _commit(self, account: Account, changes, name: str, message: str, default: str) -> str:
        """Commit `changes(page_info)` for the existing page `name` (the write transaction)."""

        def plan(_head) -> Change:
            info = self.catalog.page(name)
            if info is None:  # deleted or renamed meanwhile
                raise PageNotFound()
            return Change(changes(info), commit_message(message, default))

        revision = self.catalog.commit(plan, commit_author(account, self.settings.author_host))
        if revision is None:
            raise InvalidInput("There was nothing to change.")
        return revision
