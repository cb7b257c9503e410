"""Page routes. Actions come before the page path (`/history/<page>`), so any page name works."""

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from wiki import paths, ratelimit
from wiki.auth import current_account
from wiki.errors import (
    EditConflict,
    InvalidInput,
    InvalidRevision,
    PageExists,
    PageNotFound,
    PageTooLarge,
)
from wiki.views import freshness as freshness_views
from wiki.views import services
from wiki.views.pagecache import PageViewCache

bp = Blueprint("pages", __name__)



def _form_text(name: str) -> str:
    return request.form.get(name, "")


@bp.route("/wiki/<path:name>")
def view(name: str):
    account = current_account()
    normalized = paths.normalize(name)
    wiki = services()
    try:
        page = wiki.pages.view(account, normalized)
    except PageNotFound:
        target = wiki.pages.renamed_to(account, normalized)
        if target:
            return redirect(url_for("pages.view", name=target), 301)
        deleted = wiki.pages.deleted_revision(account, normalized)
        can_write = wiki.permissions.can_write(account, normalized)
        return render_template("missing.html", name=normalized, deleted=deleted,
                               can_write=can_write), 404
    if page.name != name:
        return redirect(url_for("pages.view", name=page.name), 301)
    if session.get("_flashes"):  # a message for this user only: not shareable
        return render_template("page.html", page=page,
                               contributors=wiki.pages.contributors(account, page.name))
    key = _view_key(wiki, account, page)
    return _view_cache().get(key) or _view_cache().render(
        key, "page.html", page=page, contributors=wiki.pages.contributors(account, page.name))


def _view_key(wiki, account, page) -> tuple:
    """Everything that can make two readers' views of a page differ: its revision (author,
    contributors), its HTML as this reader gets it (links to pages they see as missing, links
    to attached files), language, rights (whether they may edit), the admin menu, the
    Discussion tab's count, and the host in the clone address. Saves of other pages leave
    the entry valid."""
    return (page.revision, hash(page.html), page.name, str(get_locale()),
            wiki.permissions.can_write(account, page.name), account.is_admin,
            wiki.permissions.read_filter(account),
            wiki.discussions.count(page.name), request.host_url,
            # The breadcrumb and child list name other pages, which change on their own.
            tuple(wiki.tree.breadcrumb(account, page.name)),
            tuple(wiki.tree.child_pages(account, page.name)),
            freshness_views.view_key(wiki, account, page.name))


def _view_cache() -> PageViewCache:
    return current_app.extensions["kennis_views"]


@bp.route("/rev/<revision>/<path:name>")
def revision(revision: str, name: str):
    page = services().pages.at_revision(current_account(), name, revision)
    return render_template("page.html", page=page, contributors=None)


@bp.route("/raw/<path:name>")
def raw(name: str):
    source = services().pages.source(current_account(), name, request.args.get("rev") or None)
    if source.revision is None:
        raise PageNotFound()
    return Response(source.markdown, mimetype="text/plain",
                    headers={"Content-Security-Policy": "sandbox"})


@bp.route("/edit/<path:name>", methods=["GET", "POST"])
def edit(name: str):
    account = current_account()
    pages = services().pages
    if request.method == "GET":
        services().permissions.require_write(account, name)
        source = pages.source(account, name)
        if source.name != paths.normalize(name):
            return redirect(url_for("pages.edit", name=source.name))
        from wiki.views.editing import section_of

        section, markdown = section_of(source.markdown)
        return render_template("edit.html", name=source.name, markdown=markdown,
                               base=source.revision or "", message="", section=section)
    from wiki.views.editing import posted_text

    markdown = posted_text(request.form, account, name)
    base = _form_text("base") or None
    try:
        result = pages.save(account, name, markdown, _form_text("message"), base,
                            create_only=bool(_form_text("create_only")))
    except EditConflict as conflict:
        from wiki.views.editing import conflict_page

        return conflict_page(paths.normalize(name), conflict, _form_text("message"), base)
    except (InvalidInput, InvalidRevision, PageTooLarge, PageExists) as exc:
        # Refused text comes back in the editor, with the reason: nothing typed is lost.
        flash(exc.message, "error")
        return render_template("edit.html", name=paths.normalize(name), markdown=markdown,
                               base=base or "", message=_form_text("message"),
                               create_only=bool(_form_text("create_only"))), exc.status
    if result.merged:
        flash(_("Someone else changed this page while you were editing; "
                "both changes were merged."), "ok")
    elif result.unchanged:
        flash(_("Nothing changed, so nothing was saved."), "ok")
    return redirect(url_for("pages.view", name=result.name))


@bp.route("/preview", methods=["POST"])
@ratelimit.preview
def preview():
    page = services().pages.preview(current_account(), _form_text("markdown"),
                            _form_text("name") or None)
    notice = render_template("_too_complex.html") if page.too_complex else ""
    return jsonify({"html": notice + page.html})


@bp.route("/history/<path:name>")
def history(name: str):
    account = current_account()
    limit = 100
    offset = max(request.args.get("offset", 0, type=int), 0)
    revisions = services().pages.history(account, name, limit=limit + 1, offset=offset)
    return render_template("history.html", name=paths.normalize(name),
                           revisions=revisions[:limit], offset=offset, limit=limit,
                           more=len(revisions) > limit)


@bp.route("/diff/<path:name>")
def diff(name: str):
    result = services().pages.diff(current_account(), name, request.args.get("from") or None,
                           request.args.get("to") or None)
    mode = "side" if request.args.get("mode") == "side" else "inline"
    return render_template("diff.html", result=result, mode=mode)


@bp.route("/blame/<path:name>")
def blame(name: str):
    revision, lines = services().pages.blame(current_account(), name,
                                             request.args.get("rev") or None)
    return render_template("blame.html", name=paths.normalize(name), revision=revision,
                           lines=lines)


@bp.route("/revert/<path:name>", methods=["POST"])
def revert(name: str):
    result = services().pages.revert(current_account(), name, _form_text("revision"),
                             _form_text("message"))
    flash(_("The page was restored to that version."), "ok")
    return redirect(url_for("pages.view", name=result.name))


@bp.route("/rename/<path:name>", methods=["GET", "POST"])
def rename(name: str):
    account = current_account()
    info = services().pages.find(account, name)
    services().permissions.require_write(account, info.name)
    if request.method == "GET":
        return render_template("rename.html", name=info.name,
                               backlinks=services().pages.backlinks(account, info.name))
    target = _form_text("to")
    services().pages.rename(account, info.name, target,
                            rewrite_links=bool(request.form.get("rewrite")),
                            message=_form_text("message"))
    flash(_("The page was renamed; its old name leads here."), "ok")
    return redirect(url_for("pages.view", name=paths.normalize(target)))


@bp.route("/delete/<path:name>", methods=["GET", "POST"])
def delete(name: str):
    account = current_account()
    info = services().pages.find(account, name)
    services().permissions.require_write(account, info.name)
    if request.method == "GET":
        return render_template("delete.html", name=info.name)
    services().pages.delete(account, info.name, _form_text("message"))
    flash(_("The page was deleted. Its history is kept and it can be restored."), "ok")
    return redirect(url_for("pages.view", name=info.name))


@bp.route("/restore/<path:name>", methods=["POST"])
def restore(name: str):
    result = services().pages.restore(current_account(), name, _form_text("message"))
    flash(_("The page was restored."), "ok")
    return redirect(url_for("pages.view", name=result.name))


@bp.route("/backlinks/<path:name>")
def backlinks(name: str):
    pages = services().pages.backlinks(current_account(), name)
    return render_template("backlinks.html", name=paths.normalize(name), pages=pages)
