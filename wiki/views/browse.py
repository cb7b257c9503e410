"""Finding pages: the page index, recent changes with their Atom feed, and tags."""

from datetime import datetime

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import format_datetime
from markupsafe import Markup

from wiki import paths
from wiki.auth import current_account
from wiki.errors import InvalidPath
from wiki.notify import group_by_page
from wiki.views import services
from wiki.views.feeds import atom

bp = Blueprint("browse", __name__)
HOME = "Home"


# --- names and titles, for every template ------------------------------------------------------


@bp.app_template_global()
def page_title(name: str) -> str:
    """A page's title as this reader may see it (its last name part otherwise)."""
    return services().tree.title(current_account(), name)


@bp.app_template_global()
def crumbs(name: str):
    return services().tree.breadcrumb(current_account(), name)


@bp.app_template_global()
def child_pages(name: str):
    return services().tree.child_pages(current_account(), name)


@bp.app_template_global()
def revision_info(name: str, revision: str | None):
    """The history row of a revision of a page the reader may read (author, date), or None."""
    if not revision or not services().permissions.can_read(current_account(), name):
        return None
    return services().catalog.revision(name, revision)


@bp.app_template_global()
def page_language(name: str) -> str:
    """The language a page declares (front matter `lang:`), for the `lang` of its content."""
    info = services().catalog.page(name)
    return info.lang if info and services().permissions.can_read(current_account(),
                                                                 info.name) else ""


@bp.app_template_global()
def similar_titles(name: str, limit: int = 6):
    """Pages whose titles match the words of a name, for the missing-page screen. Titles
    only (not text), so a hidden page and a missing one get the same list: a readable page
    that merely mentions a hidden page's name does not set the two apart."""
    words = paths.leaf(name)
    return services().search.suggest(current_account(), words, limit=limit) if words else []


@bp.app_template_global()
def inbox_groups(items):
    return group_by_page(items)


@bp.app_template_global()
def revision_before(name: str, changes: int) -> str | None:
    """The version of a page before its last `changes` versions: with the number of changes
    the reader has not seen, the version they last saw. (Commit times have one-second steps,
    so counting is exact where comparing times is not; a save of the reader's own between
    them is in the diff as well, which they saw anyway.)"""
    if changes < 1 or not services().permissions.can_read(current_account(), name):
        return None
    history = services().catalog.history(name, limit=changes + 1)
    return history[changes].revision if len(history) > changes else None


@bp.app_template_filter("stamp")
def stamp(value: datetime | None) -> str:
    """A short, unambiguous date and time: "3 Dec 2026 14:02"."""
    return format_datetime(value, "d MMM yyyy HH:mm") if value else ""


@bp.app_template_global()
def version_label(author: str, date: datetime | None, revision: str | None) -> Markup:
    """A version named the way people speak of it, "eva, 3 Dec 2026 14:02"; the commit id
    is on hover for those who need it."""
    text = f"{author}, {stamp(date)}" if date else author
    return Markup('<span class="version" title="{}">{}</span>').format(revision or "", text)


@bp.app_template_filter("titled_links")
def titled_links(html: str) -> Markup:
    """Wikilinks written without a label show the linked page's title."""
    # The page's HTML is sanitized by render.py; the filter only inserts escaped titles.
    return Markup(services().tree.titled_links(current_account())("", str(html)))  # noqa: S704


# --- the page tree ----------------------------------------------------------------------------


@bp.route("/tree", defaults={"prefix": ""})
@bp.route("/tree/<path:prefix>")
def tree(prefix: str):
    """One namespace of the tree as an HTML fragment (the browser opens folders on demand);
    `?open=Page/Name` also opens every namespace above that page."""
    wiki, account = services(), current_account()
    try:
        current = paths.normalize(request.args["open"]) if request.args.get("open") else ""
    except InvalidPath:
        current = ""
    prefix = paths.normalize(prefix) if prefix else ""
    # Levels by key: the typed `open` name may differ in case from the stored names.
    levels = {paths.key(prefix): wiki.tree.children(account, prefix)}
    parts = current.split("/") if current else []
    for depth in range(1, len(parts)):
        above = "/".join(parts[:depth])
        if len(above) > len(prefix) and paths.key(above).startswith(paths.key(prefix)):
            levels[paths.key(above)] = wiki.tree.children(account, above)
    return render_template("_tree.html", root=paths.key(prefix), levels=levels,
                           current=paths.key(current) if current else "")



@bp.route("/")
def home():
    return redirect(url_for("pages.view", name=HOME))


@bp.route("/index", defaults={"prefix": ""})
@bp.route("/index/<path:prefix>")
def index(prefix: str):
    total, pages = services().pages.index(current_account(), prefix)
    prefix = paths.normalize(prefix) if prefix else ""
    return render_template("index.html", prefix=prefix, pages=pages, total=total, tree=_tree(
        pages, prefix))


def _tree(pages, prefix: str) -> list[dict]:
    """Nest page names into folders: [{"name", "page", "children"}], sorted."""
    root: dict = {}
    strip = len(prefix) + 1 if prefix else 0
    for page in pages:
        node = root
        parts = page.name[strip:].split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {"page": None, "children": {}})["children"]
        node.setdefault(parts[-1], {"page": None, "children": {}})["page"] = page

    def walk(nodes: dict, base: str) -> list[dict]:
        return [{"name": name, "path": f"{base}{name}", "page": n["page"],
                 "children": walk(n["children"], f"{base}{name}/")}
                for name, n in sorted(nodes.items(), key=lambda kv: kv[0].casefold())]

    return walk(root, f"{prefix}/" if prefix else "")


@bp.route("/recent")
def recent():
    offset = max(request.args.get("offset", 0, type=int), 0)
    changes = services().pages.recent(current_account(), limit=51, offset=offset)
    return render_template("recent.html", changes=changes[:50], offset=offset,
                           more=len(changes) > 50)


@bp.route("/recent.atom")
def feed():
    """Readable with a feed token (`?token=`) as well as a session: see wiki/views/feeds.py."""
    return atom(lambda account, base: render_template(
        "feed.xml", changes=services().pages.recent(account, limit=50), base=base))


@bp.route("/tags")
def tags():
    return render_template("tags.html", tags=services().pages.tags(current_account()))


@bp.route("/tag/<tag>")
def tag(tag: str):
    pages = services().pages.tagged(current_account(), tag)
    return render_template("tag.html", tag=tag, pages=pages)
