"""Finding pages: the page index, recent changes with their Atom feed, and tags."""

from flask import Blueprint, redirect, render_template, request, url_for

from wiki import paths
from wiki.auth import current_account
from wiki.views import services
from wiki.views.feeds import atom

bp = Blueprint("browse", __name__)
HOME = "Home"



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
