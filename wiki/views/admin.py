"""The admin screens: users, groups, permission rules, who can access a page, tokens, audit log.

Every route asks `services.admin`, which refuses anyone but admins (403; anonymous visitors
are sent to log in). A form that fails validation comes back with the reason as a message.
"""

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from wiki.auth import current_account
from wiki.errors import InvalidPath, PermissionDenied, Unauthorized, WikiError
from wiki.users import ROLES
from wiki.views import services

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _admin():
    return services().admin


def _form(name: str) -> str:
    return request.form.get(name, "")


def _act(change: Callable[[], object], done: str, endpoint: str):
    """Run a change and go back to the screen with what happened (post, redirect, get)."""
    try:
        change()
    except (Unauthorized, PermissionDenied):
        raise
    except WikiError as exc:
        flash(exc.message, "error")
    else:
        flash(done, "ok")
    return redirect(url_for(endpoint))


@bp.route("")
@bp.route("/users")
def users():
    return render_template("admin_users.html", users=_admin().user_list(current_account()),
                           roles=ROLES)


@bp.route("/users/create", methods=["POST"])
def create_user():
    return _act(lambda: _admin().create_user(current_account(), _form("name"), _form("password"),
                                             _form("role"), _form("email")),
                _("The user %(name)s was added.", name=_form("name")), "admin.users")


@bp.route("/users/role", methods=["POST"])
def set_role():
    return _act(lambda: _admin().set_role(current_account(), _form("user"), _form("role")),
                _("The role of %(name)s is now %(role)s.", name=_form("user"),
                  role=_form("role")), "admin.users")


@bp.route("/users/password", methods=["POST"])
def reset_password():
    return _act(lambda: _admin().reset_password(current_account(), _form("user"),
                                                _form("password")),
                _("The password of %(name)s was changed; their sessions ended.",
                  name=_form("user")), "admin.users")


@bp.route("/users/sessions", methods=["POST"])
def end_sessions():
    return _act(lambda: _admin().end_sessions(current_account(), _form("user")),
                _("Every session of %(name)s ended.", name=_form("user")), "admin.users")


@bp.route("/groups")
def groups():
    return render_template("admin_groups.html", groups=_admin().groups(current_account()))


@bp.route("/groups/add", methods=["POST"])
def add_members():
    return _act(lambda: _admin().add_members(current_account(), _form("group"), _form("users")),
                _("The group %(group)s was updated.", group=_form("group")), "admin.groups")


@bp.route("/groups/remove", methods=["POST"])
def remove_member():
    return _act(lambda: _admin().remove_member(current_account(), _form("group"), _form("user")),
                _("%(name)s left the group %(group)s.", name=_form("user"),
                  group=_form("group")), "admin.groups")


@bp.route("/rules")
def rules():
    return render_template("admin_rules.html", rules=_admin().rules(current_account()))


@bp.route("/rules/set", methods=["POST"])
def set_rule():
    return _act(lambda: _admin().set_rule(current_account(), _form("prefix"), _form("read"),
                                          _form("write")),
                _("The rule on %(prefix)s was saved.", prefix=_form("prefix")), "admin.rules")


@bp.route("/rules/remove", methods=["POST"])
def remove_rule():
    return _act(lambda: _admin().remove_rule(current_account(), _form("prefix")),
                _("The rule on %(prefix)s was removed.", prefix=_form("prefix")), "admin.rules")


@bp.route("/access")
def access():
    """Who can read and write a page; the name is a query parameter (`?page=HR/Plan`), so
    the action comes before any page name, as everywhere."""
    page = request.args.get("page", "")
    try:
        result = _admin().access(current_account(), page)
    except InvalidPath as exc:
        return render_template("admin_access.html", page=page, result=None,
                               error=exc.message), 400
    return render_template("admin_access.html", page=page, result=result, error=None)


@bp.route("/tokens")
def tokens():
    return render_template("admin_tokens.html", tokens=_admin().tokens(current_account()))


@bp.route("/audit")
def audit():
    return render_template("admin_audit.html", events=_admin().events(current_account()))
