"""Page templates and new pages: pages under any `Templates/` namespace are offered as
templates; a new page's name comes from its title (titles.py) and its text from a template
with `{{date}}`, `{{title}}` and `{{user}}` filled in.

Nothing is saved here: `start` returns the draft the editor opens with, and the editor saves
it with `create_only`, so a page made meanwhile under that name is never overwritten.
"""

import datetime
import re
from dataclasses import dataclass

from wiki import frontmatter, paths, titles
from wiki.catalog import Catalog
from wiki.errors import InvalidInput, PageNotFound
from wiki.pages import Pages
from wiki.permissions import Permissions
from wiki.users import Account

TEMPLATES = "templates"  # the namespace segment, compared case-insensitively
_PLACEHOLDER = re.compile(r"\{\{\s*(date|title|user)\s*\}\}")


@dataclass(frozen=True)
class Template:
    name: str
    title: str


@dataclass(frozen=True)
class Draft:
    name: str
    markdown: str
    wanted: str  # the name the title gave; differs from `name` when that one was taken


def is_template(name: str) -> bool:
    return TEMPLATES in (segment.casefold() for segment in name.split("/")[:-1])


def fill(text: str, title: str, user: str, today: datetime.date) -> str:
    """Fill the placeholders; the front matter's title becomes the page's title."""
    values = {"date": today.isoformat(), "title": title, "user": user}
    block, body = frontmatter.split(text)
    body = _PLACEHOLDER.sub(lambda m: values[m.group(1)], body)
    # In the front matter a value is YAML: the title goes in quoted when it needs it.
    block = _PLACEHOLDER.sub(lambda m: frontmatter.scalar(values[m.group(1)]), block)
    return frontmatter.set_field(block + body, "title", frontmatter.scalar(title))


class NewPages:
    def __init__(self, pages: Pages, catalog: Catalog, permissions: Permissions):
        self.pages = pages
        self.catalog = catalog
        self.permissions = permissions

    def templates(self, account: Account, namespace: str = "") -> list[Template]:
        """Templates this account may read; those of the namespace (and its parents) first."""
        _, listed = self.pages.index(account)
        found = [Template(p.name, p.title) for p in listed if is_template(p.name)]
        here = namespace.casefold()

        def nearness(template: Template) -> tuple:
            owner = template.name.casefold().rpartition(f"/{TEMPLATES}/")[0] \
                if f"/{TEMPLATES}/" in template.name.casefold() else ""
            inside = here == owner or here.startswith(owner + "/") if owner else True
            return (not inside, -len(owner), template.title.casefold())

        return sorted(found, key=nearness)

    def namespaces(self, account: Account) -> list[str]:
        """Every namespace holding a page this account may read."""
        _, listed = self.pages.index(account)
        found: set[str] = set()
        for page in listed:
            parts = page.name.split("/")[:-1]
            for end in range(1, len(parts) + 1):
                found.add("/".join(parts[:end]))
        return sorted(found, key=str.casefold)

    def start(self, account: Account, title: str, namespace: str = "", template: str = "",
              today: datetime.date | None = None) -> Draft:
        """The draft of a new page: its free name and its text (not saved)."""
        title = " ".join((title or "").split())
        leaf = titles.derive_name(title)
        namespace = paths.normalize(namespace) if namespace and namespace.strip("/ ") else ""
        wanted = paths.normalize(f"{namespace}/{leaf}" if namespace else leaf)
        self.permissions.require_write(account, wanted)
        self.catalog.ensure_current()
        name = titles.available(wanted, lambda n: self.catalog.page(n) is not None)
        text = f"# {title}\n"
        if template:
            try:
                source = self.pages.source(account, template)
            except PageNotFound as exc:
                raise InvalidInput("This template does not exist.") from exc
            if source.revision is None or not is_template(source.name):
                raise InvalidInput("This template does not exist.")
            text = source.markdown
        markdown = fill(text, title, account.label, today or datetime.date.today())
        return Draft(name=name, markdown=markdown, wanted=wanted)
