"""New names: what a page, folder or file name must pass to be created, on every path in (web
and API saves and renames, uploads, pushes). The one door to disarm (Unicode TR39 confusables).

The pure rules (NFKC, trailing dots, Windows device names) are `paths.check_new`. Here the
name is also compared with the names that exist: a new name whose confusable skeleton equals
that of an existing page or namespace of another spelling (`Іnfo` with a Cyrillic І beside
`Info`, `НR/Evil` beside the namespace `HR`) is refused, since it would pass for the other one
(issue 12, item 5). The refusal names the existing page only to someone who may read it;
anyone else gets `REFUSED`, the message every name refused for a reason we cannot tell gets.

Only siblings are compared: the parents of a new name are checked level by level from the
top, so a new namespace that looks like an existing one is refused before its children matter.
The map of names is built per HEAD from the catalog (two columns, no skeleton), and skeletons
are computed only for the siblings a check meets, and remembered by spelling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from disarm import skeleton_key
from sqlalchemy import select

from wiki import paths
from wiki.db import PageRow
from wiki.errors import InvalidPath

REFUSED = "This name cannot be used here; please choose another."
_SKELETON_MEMO_LIMIT = 200_000  # remembered segment spellings; past that, start afresh

_skeleton_memo: dict[str, frozenset[str]] = {}


def skeletons(segment: str) -> frozenset[str]:
    """The confusable skeletons of one name segment, as typed and case-folded: `Info` folds
    to `lnfo` (capital I looks like l) and `info`, so both `lnfo` and `іnfo` meet it."""
    found = _skeleton_memo.get(segment)
    if found is None:
        # digit_policy "tr39": 1 ≡ l and 0 ≡ O, as in the standard (`Po1icies`).
        found = frozenset(s for s in (skeleton_key(segment, digit_policy="tr39"),
                                      skeleton_key(segment.casefold(), digit_policy="tr39"))
                          if s)
        if len(_skeleton_memo) > _SKELETON_MEMO_LIMIT:
            _skeleton_memo.clear()
        _skeleton_memo[segment] = found
    return found


def looks_like(new: str, old: str) -> bool:
    """Whether two single names (a file's, a segment) differ but look alike."""
    return paths.key(new) != paths.key(old) and bool(skeletons(new) & skeletons(old))


class NameMap:
    """Pages and the namespaces they make: parent key -> {child key: spelling}."""

    def __init__(self, names: Iterable[str]):
        self.children: dict[str, dict[str, str]] = {}
        self.pages: set[str] = set()
        self._by_skeleton: dict[str, dict[str, set[str]]] = {}
        self._lock = threading.Lock()
        children = self.children
        for name in names:
            key = paths.key(name)
            self.pages.add(key)
            # The page under its parent, then the parents upwards until one is known (most
            # pages share their namespaces: each is added once).
            while True:
                parent_key, slash, _ = key.rpartition("/")
                siblings = children.get(parent_key)
                if siblings is None:
                    siblings = children[parent_key] = {}
                if key in siblings:
                    break
                siblings[key] = name
                if not slash:
                    break
                key, name = parent_key, name.rpartition("/")[0]

    def exists(self, key: str) -> bool:
        return key in self.pages or key in self.children

    def siblings(self, parent: str) -> dict[str, set[str]]:
        """skeleton -> child keys under `parent`, computed the first time it is asked."""
        found = self._by_skeleton.get(parent)
        if found is None:
            found = {}
            for child_key, spelling in self.children.get(parent, {}).items():
                for skeleton in skeletons(spelling.rpartition("/")[2]):
                    found.setdefault(skeleton, set()).add(child_key)
            with self._lock:
                self._by_skeleton[parent] = found
        return found

    def spelling(self, key: str) -> str:
        return self.children.get(key.rpartition("/")[0], {}).get(key, key)

    def lookalike(self, name: str, existed: Callable[[str], bool] | None = None,
                  ignore: str = "") -> str | None:
        """The key of an existing page or namespace that `name` (or one of its parents, from
        the top) would pass for, or None. `existed(key)` says which prefixes are not new
        (default: those in this map); `ignore` is a page being renamed (`Plan l` to `Plan 1`
        fixes a typo), unless it is a namespace too, which stays."""
        existed = existed or self.exists
        skip = {ignore} if ignore and ignore not in self.children else set()
        parent = ""
        for segment in name.split("/"):
            key = paths.key(f"{parent}/{segment}" if parent else segment)
            if not existed(key):
                siblings = self.siblings(parent)
                for skeleton in skeletons(segment):
                    others = siblings.get(skeleton, set()) - {key} - skip
                    if others:
                        return min(others)
            parent = key
        return None


class NewNames:
    """Checks names about to be created against the wiki's existing pages (memoised per HEAD)."""

    def __init__(self, catalog, permissions):
        self.catalog = catalog
        self.permissions = permissions
        self._memo: tuple[str | None, NameMap] | None = None

    def current(self, head: str | None = None) -> NameMap:
        head = head or self.catalog.ensure_current()
        memo = self._memo
        if memo is None or memo[0] != head:
            with self.catalog.db.engine.connect() as c:
                names = list(c.scalars(select(PageRow.name)))
            memo = self._memo = (head, NameMap(names))
        return memo[1]

    def check(self, account, name: str, ignore: str = "") -> str:
        """Refuse (InvalidPath) a page name or a file's path about to be created: the rules of
        `paths.check_new`, then look-alikes of existing pages and namespaces. A name that
        exists already (in any case) passes: it is not new. `ignore`: a page being renamed."""
        head = self.catalog.ensure_current()
        if self.catalog.page(name) is not None:  # an edit: no map needed
            return paths.normalize(name)
        names = self.current(head)
        name = paths.check_new(name)
        other = names.lookalike(name, ignore=paths.key(ignore) if ignore else "")
        if other is not None:
            raise InvalidPath(self._refusal(account, names, name, other))
        return name

    def _refusal(self, account, names: NameMap, name: str, other: str) -> str:
        spelling = names.spelling(other)
        if other in names.pages and self.permissions.can_read(account, spelling):
            return f"{name!r} looks like the existing page {spelling}; choose a name that " \
                   "differs visibly."
        # A namespace is shown only when a page in it can be read: naming one whose pages
        # are all hidden would tell that they exist.
        below = other + "/"
        for page in names.pages:
            if page.startswith(below) and self.permissions.can_read(
                    account, names.spelling(page)):
                return f"{name!r} looks like the existing namespace {spelling}; choose a " \
                       "name that differs visibly."
        return REFUSED
