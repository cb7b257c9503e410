"""Freshness on the web (issue 16): verify and flag a page, the freshness and content-health
reports, the namespace defaults screen, and what the page screen's `_freshness.html` shows.

Each route reads the request, calls `services().freshness` (which checks permissions) and
renders or redirects.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from wiki.auth import current_account
from wiki.errors import InvalidInput, PageExists, PermissionDenied, Unauthorized, WikiError
from wiki.views import services

bp = Blueprint("freshness", __name__)


def init_app(app) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def freshness_helpers():
        return {"freshness_box": freshness_box, "day": lambda d: format_date(d, "medium")}


def freshness_box(page) -> dict | None:
    """What the page screen shows about its freshness, or None for an old revision."""
    if not page.current or not page.revision:
        return None
    wiki, account = services(), current_account()
    fresh = wiki.freshness.of(account, page.name)
    return {"fresh": fresh, "flags": wiki.freshness.open_flags(account, page.name),
            "may_verify": wiki.freshness.may_verify(account, fresh),
            "may_flag": not account.is_anonymous}


def view_key(wiki, account, name: str) -> tuple:
    """The parts of a cached page view that freshness changes (views/pages.py `_view_key`)."""
    fresh = wiki.freshness.of(account, name)
    flags = tuple(f.id for f in wiki.freshness.open_flags(account, name))
    return (fresh.state, fresh.review_by, fresh.verified, fresh.owner, flags,
            wiki.freshness.may_verify(account, fresh), account.is_anonymous)


@bp.route("/verify/<path:name>", methods=["POST"])
def verify(name: str):
    result = services().freshness.verify(current_account(), name)
    flash(_("Verified. The next review is due on %(date)s.",
            date=format_date(result.review_by, "medium"))
          if result.review_by else _("Verified."), "ok")
    return redirect(url_for("pages.view", name=result.name))


@bp.route("/flag/<path:name>", methods=["POST"])
def flag(name: str):
    try:
        flagged = services().freshness.flag(current_account(), name, request.form.get("reason"))
    except (InvalidInput, PageExists) as exc:
        flash(exc.message, "error")
        return redirect(url_for("pages.view", name=name))
    flash(_("Thank you. The page's owner has been told."), "ok")
    return redirect(url_for("pages.view", name=flagged.page_name))


def _owner_arg(account) -> str:
    owner = request.args.get("owner", "")[:200]
    if owner == "mine":
        return "" if account.is_anonymous else f"user:{account.name}"
    return owner


@bp.route("/reports/freshness")
def report():
    account = current_account()
    prefix, owner = request.args.get("prefix", "")[:255], _owner_arg(account)
    state = request.args.get("state", "")
    wiki = services()
    rows = wiki.freshness.report(account, prefix, owner, [state] if state else ())
    return render_template("report_freshness.html", rows=rows, prefix=prefix, owner=owner,
                           state=state, flags=wiki.freshness.flags_report(account))


@bp.route("/reports/links")
def links():
    prefix = request.args.get("prefix", "")[:255]
    report = services().freshness.links(current_account(), prefix)
    return render_template("report_links.html", report=report, prefix=prefix)


@bp.route("/admin/reviews")
def defaults():
    account = current_account()
    services().permissions.require_admin(account)
    return render_template("admin_reviews.html", defaults=services().freshness.defaults())


@bp.route("/admin/reviews", methods=["POST"])
def set_default():
    account = current_account()
    form = request.form
    try:
        if form.get("action") == "remove":
            services().freshness.remove_default(account, form.get("prefix", ""))
        else:
            services().freshness.set_default(account, form.get("prefix", ""),
                                             form.get("owner", ""), form.get("review_every", ""))
    except (Unauthorized, PermissionDenied):
        raise
    except WikiError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Saved."), "ok")
    return redirect(url_for("freshness.defaults"))
