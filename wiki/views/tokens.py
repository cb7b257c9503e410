"""Self-service API tokens: create (the value is shown once), list and revoke your own.

Admins revoke anyone's token through the same route; `Users.revoke_token` decides.
"""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from wiki.auth import current_account
from wiki.errors import InvalidInput, Unauthorized
from wiki.views import services

bp = Blueprint("tokens", __name__)



def _me():
    account = current_account()
    if account.is_anonymous:
        raise Unauthorized()
    return account


@bp.route("/tokens")
def index():
    return render_template("tokens.html", tokens=services().users.tokens(_me().id), new_token=None)


@bp.route("/tokens/create", methods=["POST"])
def create():
    account = _me()
    try:
        value = services().users.create_token(account.name, request.form.get("name", ""))
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("tokens.index"))
    # Rendered straight away, never put in the session or a redirect: this response is the
    # only place the value ever appears, and nothing may keep a copy of it.
    response = current_app.make_response(render_template(
        "tokens.html", tokens=services().users.tokens(account.id), new_token=value,
        new_name=request.form.get("name", "").strip()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tokens/revoke/<int:token_id>", methods=["POST"])
def revoke(token_id: int):
    revoked = services().users.revoke_token(token_id, _me())
    flash(_("The token %(name)s of %(user)s was revoked.", name=revoked.name,
            user=revoked.user), "ok")
    back = "admin.tokens" if request.form.get("back") == "admin" else "tokens.index"
    return redirect(url_for(back))
