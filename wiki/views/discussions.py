"""Discussion pages, the inbox, watching, the activity stream and mention autocomplete.

Actions come before the page path (`/discussion/<page>`), like every HTML route.
"""

from flask import (
    Blueprint,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from wiki import paths
from wiki.auth import current_account
from wiki.discussions import CommentTooLarge, DiscussionClosed
from wiki.errors import InvalidInput, PermissionDenied
from wiki.views import services

bp = Blueprint("discussions", __name__)


def init_app(app) -> None:
    from wiki.views import feeds, moderation

    app.register_blueprint(bp)
    app.register_blueprint(feeds.bp)  # Atom feeds of the activity stream, feed tokens
    app.register_blueprint(moderation.bp)  # reports, approval of held-back threads
    services = app.extensions["kennis"]

    @app.template_global()
    def thread_count(name: str) -> int:
        """Threads of a page the caller is already allowed to see (once per request)."""
        counts = g.setdefault("kennis_thread_counts", {})
        if name not in counts:
            counts[name] = services.discussions.count(name)
        return counts[name]

    @app.template_global()
    def inbox_unread() -> int:
        if "kennis_unread" not in g:
            g.kennis_unread = services.notify.unread_count(current_account())
        return g.kennis_unread



def _form(name: str) -> str:
    return request.form.get(name, "")


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise InvalidInput(_("That is not a number.")) from None


# --- threads -----------------------------------------------------------------------------------

@bp.route("/discussion/<path:name>", methods=["GET", "POST"])
def page_threads(name: str):
    account = current_account()
    wiki = services()
    error, title, body = None, "", ""
    if request.method == "POST":
        title, body = _form("title"), _form("body")
        try:
            result = wiki.discussions.start(account, name, title, body)
        except (InvalidInput, CommentTooLarge) as exc:
            error = exc
        else:
            return redirect(url_for(".thread", thread_id=result.thread.id))
    shown, threads = wiki.discussions.threads(account, name)
    if shown != paths.normalize(name) and request.method == "GET":
        return redirect(url_for(".page_threads", name=shown))
    page_exists = wiki.catalog.page(shown) is not None
    return render_template(
        "discussion.html", name=shown, threads=threads, page_exists=page_exists,
        watching=wiki.notify.watching(account, shown), error=error and error.message,
        title=title, body=body), error.status if error else 200


@bp.route("/thread/<int:thread_id>")
def thread(thread_id: int):
    return _thread_page(thread_id)


def _thread_page(thread_id: int, error=None, body: str = "", reply_to: int | None = None):
    account = current_account()
    view = services().discussions.thread(account, thread_id)
    return render_template("discussion_thread.html", thread=view, name=view.page_name,
                           error=error and error.message, body=body,
                           reply_to=reply_to), error.status if error else 200


@bp.route("/thread/<int:thread_id>/reply", methods=["POST"])
def reply(thread_id: int):
    body = _form("body")
    reply_to = _int(request.form.get("reply_to"))
    try:
        result = services().discussions.reply(current_account(), thread_id, body, reply_to)
    except (InvalidInput, CommentTooLarge, DiscussionClosed) as exc:
        return _thread_page(thread_id, exc, body, reply_to)
    return redirect(url_for(".thread", thread_id=thread_id, _anchor=f"c{result.comment.id}"))


@bp.route("/thread/<int:thread_id>/status", methods=["POST"])
def status(thread_id: int):
    services().discussions.set_status(current_account(), thread_id, _form("status"))
    return redirect(url_for(".thread", thread_id=thread_id))


@bp.route("/thread/<int:thread_id>/lock", methods=["POST"])
def lock(thread_id: int):
    services().moderation.set_locked(current_account(), thread_id, _form("locked") == "1")
    return redirect(url_for(".thread", thread_id=thread_id))


# --- comments ----------------------------------------------------------------------------------

@bp.route("/comment/<int:comment_id>/edit", methods=["GET", "POST"])
def edit_comment(comment_id: int):
    account = current_account()
    discussions = services().discussions
    comment = discussions.comment(account, comment_id)
    if not comment.may_edit:
        raise PermissionDenied(_("Only its author can change a comment."))
    if request.method == "GET":
        return render_template("discussion_edit.html", comment=comment, body=comment.body,
                               error=None)
    try:
        view = discussions.edit(account, comment_id, _form("body"))
    except (InvalidInput, CommentTooLarge) as exc:
        return render_template("discussion_edit.html", comment=comment, body=_form("body"),
                               error=exc.message), exc.status
    return redirect(url_for(".thread", thread_id=view.thread_id, _anchor=f"c{view.id}"))


@bp.route("/comment/<int:comment_id>/delete", methods=["POST"])
def delete_comment(comment_id: int):
    discussions = services().discussions
    thread_id = discussions.comment(current_account(), comment_id).thread_id
    discussions.delete(current_account(), comment_id)
    flash(_("The comment was removed."), "ok")
    return redirect(url_for(".thread", thread_id=thread_id))


@bp.route("/comment/<int:comment_id>/hide", methods=["POST"])
def hide_comment(comment_id: int):
    wiki = services()
    account = current_account()
    thread_id = wiki.discussions.comment(account, comment_id).thread_id
    if request.form.get("unhide"):
        wiki.moderation.unhide(account, comment_id)
    else:
        wiki.moderation.hide(account, comment_id, _form("reason"))
    if request.form.get("back") == "moderation":
        return redirect(url_for("moderation.index"))
    return redirect(url_for(".thread", thread_id=thread_id, _anchor=f"c{comment_id}"))


@bp.route("/comment/<int:comment_id>/history")
def comment_history(comment_id: int):
    view, revisions = services().moderation.comment_history(current_account(), comment_id)
    return render_template("discussion_history.html", comment=view, revisions=revisions)


# --- mentions ----------------------------------------------------------------------------------

@bp.route("/mentions/<path:name>")
def mention_names(name: str):
    """Autocomplete for `@name` in a comment box: users who may read the page."""
    found = services().discussions.user_names(current_account(), name,
                                                request.args.get("q", ""))
    return jsonify({"users": [{"name": n, "label": label} for n, label in found]})


# --- watching, inbox, activity -------------------------------------------------------------

@bp.route("/watch/<path:name>", methods=["POST"])
def watch(name: str):
    account = current_account()
    notify = services().notify
    namespace = request.form.get("namespace") == "1"
    if request.form.get("action") == "unwatch":
        notify.unwatch(account, name, namespace)
        flash(_("You no longer watch %(name)s.", name=name), "ok")
    else:
        notify.watch(account, name, namespace)
        flash(_("You now watch %(name)s.", name=name), "ok")
    back = request.form.get("next", "")
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("pages.view", name=paths.normalize(name))
    return redirect(back)


@bp.route("/inbox", methods=["GET", "POST"])
def inbox():
    account = current_account()
    notify = services().notify
    if request.method == "POST":
        if "email" in request.form:
            notify.set_email_mode(account, _form("email"))
            flash(_("Your notification settings are saved."), "ok")
        else:
            ids = [_int(v) for v in request.form.getlist("id")]
            notify.mark_read(account, [i for i in ids if i is not None] or None)
        return redirect(url_for(".inbox"))
    items = notify.inbox(account)
    return render_template("inbox.html", items=items, email_mode=notify.email_mode(account),
                           watches=notify.watches(account),
                           email_on=bool(services().settings.smtp_host))


@bp.route("/activity", defaults={"prefix": ""})
@bp.route("/activity/<path:prefix>")
def activity(prefix: str):
    account = current_account()
    prefix = paths.normalize(prefix) if prefix else ""
    items = services().activity.recent(account, limit=50, prefix=prefix)
    return render_template("activity.html", items=items, prefix=prefix)
