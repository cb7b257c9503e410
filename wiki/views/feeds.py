"""Atom feeds of the activity stream, the feed-token helper every feed uses, and `/feeds`
(your feed links; make or reset your feed token).

A feed is read with the account of its `?token=` (a feed token, see wiki/feeds.py) or else the
session. Feed readers show no login pages, so a feed's errors are short plain text (401 or 404)
instead of a redirect or an HTML page.
"""

from collections.abc import Callable

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from wiki import paths, ratelimit
from wiki.auth import current_account
from wiki.errors import Unauthorized, WikiError
from wiki.feeds import FeedTokenInvalid
from wiki.users import Account
from wiki.views import services

bp = Blueprint("feeds", __name__)
FEED_ENTRIES = 50



def feed_account() -> Account:
    """Who reads this feed: the owner of `?token=`, else whoever the session says."""
    token = request.args.get("token")
    if token is None:
        return current_account()
    try:
        return services().feeds.account(token)
    except FeedTokenInvalid:
        ratelimit.feed_token_refused()
        raise


def atom(render: Callable[[Account, str], str]) -> Response:
    """An Atom response from `render(account, base_url)`; errors as plain text."""
    settings = services().settings
    base = (settings.base_url or request.url_root).rstrip("/")
    try:
        body = render(feed_account(), base)
    except WikiError as exc:
        message = exc.message
        if isinstance(exc, Unauthorized):
            message = _("This feed needs a feed link with your feed token: see %(url)s",
                        url=base + url_for("feeds.index"))
        return Response(message + "\n", status=exc.status, mimetype="text/plain")
    response = Response(body, mimetype="application/atom+xml")
    if "token" in request.args:  # private content: no shared cache may keep it
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/activity.atom", defaults={"prefix": ""})
@bp.route("/activity.atom/<path:prefix>")
def activity(prefix: str):
    prefix = paths.normalize(prefix) if prefix else ""

    def render(account: Account, base: str) -> str:
        items = services().activity.recent(account, limit=FEED_ENTRIES, prefix=prefix)
        return render_template("activity.xml", items=items, prefix=prefix, base=base,
                               token=request.args.get("token"))

    return atom(render)


@bp.route("/feeds", methods=["GET", "POST"])
def index():
    account = current_account()
    if account.is_anonymous:
        raise Unauthorized()
    feeds = services().feeds
    token = None
    if request.method == "POST":
        if request.form.get("action") == "remove":
            feeds.remove(account)
            return redirect(url_for(".index"))
        token = feeds.reset(account)
    # The new token is rendered straight away, never stored anywhere readable: this response
    # is the only place it appears.
    base = (services().settings.base_url or request.url_root).rstrip("/")
    response = current_app.make_response(render_template(
        "feeds.html", token=token, created=feeds.created(account), base=base))
    response.headers["Cache-Control"] = "no-store"
    return response
