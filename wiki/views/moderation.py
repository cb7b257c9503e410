"""Moderation: report a comment, the moderators' queue (`/moderation`: open reports and threads
waiting for approval), dismiss a report, approve or reject a held-back thread.

Hiding a comment is the thread page's own form (`/comment/ID/hide`); it closes the comment's
open reports too. The use cases are in wiki/moderation.py; who moderates a page is decided in
wiki/discussions.py.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from wiki.auth import current_account
from wiki.errors import PermissionDenied, Unauthorized
from wiki.views import services

bp = Blueprint("moderation", __name__)


@bp.route("/moderation")
def index():
    account = current_account()
    if account.is_anonymous:
        raise Unauthorized()
    if not account.can_edit:
        raise PermissionDenied(_("Only editors and admins moderate discussions."))
    moderation = services().moderation
    return render_template("moderation.html", reports=moderation.reports(account),
                           pending=moderation.pending(account))


@bp.route("/comment/<int:comment_id>/report", methods=["POST"])
def report(comment_id: int):
    wiki = services()
    account = current_account()
    thread_id = wiki.discussions.comment(account, comment_id).thread_id
    wiki.moderation.report(account, comment_id, request.form.get("reason", ""))
    flash(_("Thank you. The moderators of this page will look at the comment."), "ok")
    return redirect(url_for("discussions.thread", thread_id=thread_id, _anchor=f"c{comment_id}"))


@bp.route("/report/<int:report_id>/dismiss", methods=["POST"])
def dismiss(report_id: int):
    services().moderation.dismiss_report(current_account(), report_id)
    flash(_("The report was dismissed."), "ok")
    return redirect(url_for(".index"))


@bp.route("/thread/<int:thread_id>/approve", methods=["POST"])
def approve(thread_id: int):
    services().moderation.approve(current_account(), thread_id)
    flash(_("The discussion is approved; everyone who may read the page sees it now."), "ok")
    return redirect(url_for("discussions.thread", thread_id=thread_id))


@bp.route("/thread/<int:thread_id>/reject", methods=["POST"])
def reject(thread_id: int):
    page_name = services().moderation.reject(current_account(), thread_id)
    flash(_("The discussion was rejected and deleted."), "ok")
    if request.form.get("back") == "moderation":
        return redirect(url_for(".index"))
    return redirect(url_for("discussions.page_threads", name=page_name))
