"""Who is asking, and may they? The only module that imports Flask-Login.

`Permissions` is the single policy every service asks before it reveals or changes a page.
Views never decide permissions themselves.
"""

from dataclasses import dataclass

from flask import current_app, g, request
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from wiki.errors import PermissionDenied, Unauthorized
from wiki.users import ANONYMOUS, Account, Users


class Permissions:
    """Basic policy: readers read, editors write, admins administer.

    Anonymous visitors read only when `anonymous_read` is on. Namespace rules (issue: groups
    and namespace permissions) will refine `can_read`/`can_write` here, and nowhere else.
    """

    def __init__(self, anonymous_read: bool):
        self.anonymous_read = anonymous_read

    def can_read(self, account: Account, name: str | None = None) -> bool:
        return not account.is_anonymous or self.anonymous_read

    def can_write(self, account: Account, name: str | None = None) -> bool:
        return account.can_edit and self.can_read(account, name)

    def require_read(self, account: Account, name: str | None = None) -> None:
        if not self.can_read(account, name):
            raise Unauthorized() if account.is_anonymous else PermissionDenied()

    def require_write(self, account: Account, name: str | None = None) -> None:
        if not self.can_write(account, name):
            if account.is_anonymous:
                raise Unauthorized()
            raise PermissionDenied("Your account may not change this page.")

    def require_admin(self, account: Account) -> None:
        if account.is_anonymous:
            raise Unauthorized()
        if not account.is_admin:
            raise PermissionDenied()


class _SessionUser(UserMixin):
    def __init__(self, account: Account):
        self.account = account

    def get_id(self) -> str:
        # The session version is part of the id, so a password change or "log out everywhere"
        # invalidates every cookie issued before it.
        return f"{self.account.id}:{self.account.session_version}"


@dataclass(frozen=True)
class Caller:
    account: Account
    via: str  # "session", "token" or "anonymous"


def init_app(app, users: Users) -> None:
    manager = LoginManager()
    manager.login_view = "account.login"
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(user_id: str):
        try:
            uid, version = (int(part) for part in user_id.split(":"))
        except ValueError:
            return None
        account = users.get(uid)
        if account is None or account.session_version != version:
            return None
        return _SessionUser(account)

    manager.init_app(app)


def caller() -> Caller:
    """The account behind this request: a bearer token wins over the session cookie."""
    if "kennis_caller" in g:
        return g.kennis_caller
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        account = current_app.extensions["kennis"].users.by_token(header[7:].strip())
        found = Caller(account, "token") if account else Caller(ANONYMOUS, "anonymous")
        found = found if account or not header[7:].strip() else Caller(ANONYMOUS, "bad-token")
    elif current_user.is_authenticated:
        found = Caller(current_user.account, "session")
    else:
        found = Caller(ANONYMOUS, "anonymous")
    g.kennis_caller = found
    return found


def current_account() -> Account:
    return caller().account


def log_in(account: Account, remember: bool = False) -> None:
    login_user(_SessionUser(account), remember=remember)
    g.pop("kennis_caller", None)


def log_out() -> None:
    logout_user()
    g.pop("kennis_caller", None)
