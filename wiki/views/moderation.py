"""Moderation: report a comment, the moderators' queue (`/moderation`: open reports and threads
waiting for approval), dismiss a report, approve or reject a held-back thread.

Hiding a comment is the thread page's own form (`/comment/ID/hide`); it closes the comment's
open reports too. Who may do what is decided in wiki/discussions.py.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from wiki.auth import current_account
from wiki.errors import PermissionDenied, Unauthorized
from wiki.views import services

bp = Blueprint("moderation", __name__)


def _discussions():
    return services().discussions


@bp.route("/moderation")
def index():
    account = current_account()
    if account.is_anonymous:
        raise Unauthorized()
    if not account.can_edit:
        raise PermissionDenied(_("Only editors and admins moderate discussions."))
    discussions = _discussions()
    return render_template("moderation.html", reports=discussions.reports(account),
                           pending=discussions.pending(account))


@bp.route("/comment/<int:comment_id>/report", methods=["POST"])
def report(comment_id: int):
    discussions = _discussions()
    account = current_account()
    thread_id = discussions.comment(account, comment_id).thread_id
    discussions.report(account, comment_id, request.form.get("reason", ""))
    flash(_("Thank you. The moderators of this page will look at the comment."), "ok")
    return redirect(url_for("discussions.thread", thread_id=thread_id, _anchor=f"c{comment_id}"))


@bp.route("/report/<int:report_id>/dismiss", methods=["POST"])
def dismiss(report_id: int):
    _discussions().dismiss_report(current_account(), report_id)
    flash(_("The report was dismissed."), "ok")
    return redirect(url_for(".index"))


@bp.route("/thread/<int:thread_id>/approve", methods=["POST"])
def approve(thread_id: int):
    _discussions().approve(current_account(), thread_id)
    flash(_("The discussion is approved; everyone who may read the page sees it now."), "ok")
    return redirect(url_for("discussions.thread", thread_id=thread_id))


@bp.route("/thread/<int:thread_id>/reject", methods=["POST"])
def reject(thread_id: int):
    page_name = _discussions().reject(current_account(), thread_id)
    flash(_("The discussion was rejected and deleted."), "ok")
    if request.form.get("back") == "moderation":
        return redirect(url_for(".index"))
    return redirect(url_for("discussions.page_threads", name=page_name))
