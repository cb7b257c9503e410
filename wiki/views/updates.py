"""Short updates in the browser: the stream (`/updates?prefix=&tag=&author=`), posting and
liking. Replies and editing are in the API so far."""

from flask import Blueprint, redirect, render_template, request, url_for

from wiki.auth import current_account
from wiki.errors import InvalidInput
from wiki.views import services

bp = Blueprint("updates", __name__)


def init_app(app) -> None:
    app.register_blueprint(bp)


@bp.route("/updates", methods=["GET", "POST"])
def stream():
    account = current_account()
    services().permissions.refuse_unseen(account)
    prefix = request.args.get("prefix", "")
    tag = request.args.get("tag", "")[:50]
    author = request.args.get("author", "")[:64]
    error = None
    if request.method == "POST":
        try:
            services().updates.post(account, request.form.get("body", ""),
                                    request.form.get("namespace", ""))
            return redirect(url_for(".stream", prefix=prefix or None))
        except InvalidInput as exc:
            error = exc.message
    found = services().updates.stream(account, prefix=prefix, tag=tag, author=author, limit=50)
    return render_template("updates.html", updates=found, prefix=prefix, tag=tag,
                           author=author, error=error), 400 if error else 200


@bp.route("/updates/<int:update_id>/like", methods=["POST"])
def like(update_id: int):
    services().updates.like(current_account(), update_id, request.form.get("unlike") is None)
    return redirect(request.form.get("next") if request.form.get("next", "").startswith(
        "/updates") else url_for(".stream"))
