"""Logging in and out, the first admin's setup link, and personal settings."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from wiki import auth, ratelimit
from wiki.errors import InvalidInput, PageExists
from wiki.views import services

bp = Blueprint("account", __name__)



def _safe_next(target: str | None) -> str:
    """Only local paths: `next` must never send a user to another site."""
    if target and target.startswith("/") and not target.startswith("//") \
            and not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("browse.home")


@bp.route("/login", methods=["GET", "POST"])
@ratelimit.login
def login():
    if request.method == "POST":
        account = services().users.authenticate(request.form.get("name", ""),
                                        request.form.get("password", ""))
        if account:
            auth.log_in(account, remember=bool(request.form.get("remember")))
            ratelimit.remember_address(request.form.get("name", ""))
            return redirect(_safe_next(request.args.get("next")))
        flash(_("The name or password is not right."), "error")
        return render_template("login.html"), 401
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    account = auth.current_account()
    if not account.is_anonymous:
        services().users.end_sessions(account.id)
    auth.log_out()
    return redirect(url_for("account.login"))


@bp.route("/setup/<token>", methods=["GET", "POST"])
@ratelimit.setup_link
def setup(token: str):
    users = services().users
    if not users.setup_token_valid(token):
        return render_template("error.html", status=404, code="not_found",
                               message=_("This setup link is not valid (any more).")), 404
    error = None
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm", ""):
            error = _("The passwords do not match.")
        else:
            try:
                account = users.use_setup_token(token, request.form.get("name", ""), password)
            except (InvalidInput, PageExists) as exc:
                error = exc.message
            else:
                auth.log_in(account)
                return redirect(url_for("browse.home"))
    return render_template("setup.html", error=error), 400 if error else 200


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    account = auth.current_account()
    if account.is_anonymous:
        return redirect(url_for("account.login", next=request.path))
    if request.method == "POST":
        users = services().users
        password = request.form.get("password")
        try:
            if password:  # every check first: a refused form changes nothing
                if not users.authenticate(account.name, request.form.get("current", "")):
                    raise InvalidInput(_("The current password is not right."))
                users.check_new_password(password)
            users.update_profile(account.id, language=request.form.get("language", ""),
                                 email=request.form.get("email"),
                                 display_name=request.form.get("display_name"))
            if password:
                auth.log_in(users.set_password(account.name, password))
        except InvalidInput as exc:
            flash(exc.message, "error")
            return render_template("settings.html"), 400
        flash(_("Your settings are saved."), "ok")
        return redirect(url_for("account.settings"))
    return render_template("settings.html")
