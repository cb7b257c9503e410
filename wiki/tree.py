"""The shape of the wiki as a reader sees it: namespaces, child pages, breadcrumbs, titles.

Everything here answers for one account: a namespace appears only when the reader may read at
least one page in it, so a hidden namespace never shows up in the tree, a child list, a
breadcrumb or a title lookup. The tree is served one namespace at a time (the browser opens a
folder on demand), so a namespace of thousands of pages costs one indexed range query.
"""

import html
import re
from dataclasses import dataclass
from urllib.parse import unquote

from sqlalchemy import select

from wiki import paths
from wiki.catalog import Catalog
from wiki.db import Database, PageRow
from wiki.permissions import Permissions
from wiki.users import Account

MAX_NODES = 2000  # entries in one namespace listing; the index lists the rest


@dataclass(frozen=True)
class Node:
    """One entry of a namespace: a page, a folder of pages, or both (`Team` and `Team/…`)."""

    name: str  # the full page or namespace name
    label: str  # the page's title, or the folder's own name
    is_page: bool
    has_children: bool

    @property
    def key(self) -> str:
        return paths.key(self.name)


@dataclass(frozen=True)
class Crumb:
    name: str
    label: str
    is_page: bool


class Tree:
    def __init__(self, db: Database, catalog: Catalog, permissions: Permissions):
        self.db = db
        self.catalog = catalog
        self.permissions = permissions

    def _readable_under(self, account: Account, prefix: str) -> list[tuple[str, str]]:
        """(name, title) of every page under `prefix` (all pages for "") this account reads."""
        query = select(PageRow.name, PageRow.title)
        if prefix:
            query = query.where(PageRow.key.startswith(paths.key(prefix) + "/",
                                                       autoescape=True))
        self.catalog.ensure_current()
        with self.db.engine.connect() as c:
            rows = c.execute(query.order_by(PageRow.key)).all()
        can_read = self.permissions.can_read
        return [(name, title) for name, title in rows if can_read(account, name)]

    def children(self, account: Account, prefix: str = "") -> list[Node]:
        """The direct entries of a namespace ("" is the top), folders and pages by label.

        A namespace the reader may not see answers like an empty one."""
        self.permissions.require_read(account)
        prefix = paths.normalize(prefix) if prefix else ""
        strip = len(prefix) + 1 if prefix else 0
        entries: dict[str, dict] = {}
        for name, title in self._readable_under(account, prefix):
            head, slash, _rest = name[strip:].partition("/")
            entry = entries.setdefault(head.casefold(), {"name": name[:strip] + head,
                                                         "title": "", "page": False,
                                                         "children": False})
            if slash:
                entry["children"] = True
            else:
                entry["page"], entry["title"], entry["name"] = True, title, name
        nodes = [Node(name=e["name"], label=(e["title"] if e["page"] and e["title"]
                                             else paths.leaf(e["name"])),
                      is_page=e["page"], has_children=e["children"]) for e in entries.values()]
        nodes.sort(key=lambda n: (not n.has_children, n.label.casefold()))
        return nodes[:MAX_NODES]

    def child_pages(self, account: Account, name: str) -> list[Node]:
        """What lies directly below a page (`Team` lists `Team/Onboarding`, `Team/Tools/`)."""
        return self.children(account, name)

    def title(self, account: Account, name: str) -> str:
        """The title of a page this reader may see; otherwise its last name part (which the
        reader already knows: it is in what they asked for)."""
        try:
            name = paths.normalize(name)
        except Exception:
            return name
        info = self.catalog.page(name)
        if info and info.title and self.permissions.can_read(account, info.name):
            return info.title
        return paths.leaf(name)

    def titles(self, account: Account, names) -> dict[str, str]:
        return {n: self.title(account, n) for n in set(names) if n}

    def breadcrumb(self, account: Account, name: str) -> list[Crumb]:
        """The namespaces above a page, each named by its own page's title when it has one
        (`Projects` for `Projects/…`), else by the folder name; the page itself is not in it."""
        name = paths.normalize(name)
        parts = name.split("/")
        crumbs = []
        for depth in range(1, len(parts)):
            above = "/".join(parts[:depth])
            info = self.catalog.page(above)
            readable = info is not None and self.permissions.can_read(account, info.name)
            label = info.title if readable and info.title else parts[depth - 1]
            crumbs.append(Crumb(name=above, label=label, is_page=readable))
        return crumbs

    def titled_links(self, account: Account):
        """An HTML filter: a wikilink written without a label (`[[Team/Style guide]]`) shows
        the page's title. Only links left unmarked after the missing-page pass are touched,
        and those lead to pages this reader may read."""

        def apply(_name: str, text: str) -> str:
            if 'class="wikilink"' not in text:
                return text

            def swap(match: re.Match) -> str:
                target = unquote(html.unescape(match.group(1))[len("/wiki/"):])
                label = html.unescape(match.group(2))
                try:
                    same = paths.key(paths.normalize(label)) == paths.key(target)
                except Exception:
                    same = False
                if not same:
                    return match.group(0)
                info = self.catalog.page(target)
                if not info or not info.title or not self.permissions.can_read(account,
                                                                               info.name):
                    return match.group(0)
                return (f'<a class="wikilink" href="{match.group(1)}" title="'
                        f'{html.escape(info.name)}">{html.escape(info.title, quote=False)}</a>')

            return _UNLABELLED.sub(swap, text)

        return apply


_UNLABELLED = re.compile(r'<a class="wikilink" href="(/wiki/[^"]*)">([^<]*)</a>')
