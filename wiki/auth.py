"""Who is asking? The only module outside `views/` that imports Flask and Flask-Login.

May they? is `wiki.permissions`, which knows nothing of requests.
"""

import time
from dataclasses import dataclass

from flask import current_app, g, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from wiki import config
from wiki.errors import WikiError
from wiki.users import ACCOUNT_CACHE_SECONDS, ANONYMOUS, Account, Users


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
    via: str  # "session", "token", "proxy", "bad-token" or "anonymous"


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
    elif (proxied := _proxy_account()) is not None:
        found = Caller(proxied, "proxy")
    elif current_user.is_authenticated:
        found = Caller(current_user.account, "session")
    else:
        found = Caller(ANONYMOUS, "anonymous")
    g.kennis_caller = found
    return found


def _proxy_account() -> Account | None:
    """The user a trusted sign-on proxy names in `proxy_auth_header`, or None.

    The header counts only when the request comes straight from an address in
    `proxy_auth_trusted` (the proxy must set it and drop any copy a client sends); from any
    other address it is ignored as if absent. Results are kept for a moment per process, so the
    database is not written on every request.
    """
    settings = current_app.extensions["kennis"].settings
    if not settings.proxy_auth_header:
        return None
    name = _header_text(settings.proxy_auth_header)
    if not name:
        return None
    peer = request.environ.get("kennis.peer", request.remote_addr)
    if not config.address_in(peer, settings.proxy_auth_networks):
        return None
    groups = None
    if settings.proxy_auth_groups_header \
            and settings.proxy_auth_groups_header in request.headers:
        groups = tuple(sorted({part.strip() for part in
                               _header_text(settings.proxy_auth_groups_header).split(",")
                               if part.strip()}))
    seen = (name, _header_text(settings.proxy_auth_email_header, None),
            _header_text(settings.proxy_auth_name_header, None), groups)
    recent = current_app.extensions.setdefault("kennis_proxy_seen", {})
    now = time.monotonic()
    hit = recent.get(seen)
    if hit and hit[0] > now:
        return hit[1]
    try:
        account = _sign_on(*seen)
    except WikiError as exc:
        current_app.logger.warning("proxy sign-on refused for %r: %s", name, exc.message)
        account = None
    if len(recent) > 10_000:
        recent.clear()
    recent[seen] = (now + ACCOUNT_CACHE_SECONDS, account)
    return account


def _header_text(header: str, default: str | None = "") -> str | None:
    """A header's value as text: proxies send UTF-8, WSGI hands it over as Latin-1."""
    if not header or header not in request.headers:
        return default
    value = request.headers[header].strip()
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _sign_on(name: str, email: str | None, display_name: str | None,
             groups: tuple[str, ...] | None) -> Account:
    """Create or update the proxy's user and sync its groups (audit actor "proxy")."""
    services = current_app.extensions["kennis"]
    account, _created = services.users.ensure_proxy_user(
        name, email, display_name, role=services.settings.proxy_auth_role)
    if groups is not None:
        have = services.acl.groups_of(account.id)
        want = {group.lower(): group for group in groups}
        for key, group in want.items():
            if key not in have:
                try:
                    services.acl.add_members(group, [account.name], actor="proxy")
                except WikiError as exc:
                    current_app.logger.warning("proxy group %r skipped: %s", group, exc.message)
        for key in sorted(have - want.keys()):
            services.acl.remove_member(key, account.name, actor="proxy")
    return account


def current_account() -> Account:
    return caller().account


def log_in(account: Account, remember: bool = False) -> None:
    # A fresh CSRF secret with every login: a secret from before it (one an attacker planted
    # with a cookie from a sibling host, or the last user's on a shared computer) must not
    # sign forms of the new session. Flask-WTF keeps it in the session and this request's g.
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)
    login_user(_SessionUser(account), remember=remember)
    g.pop("kennis_caller", None)


def log_out() -> None:
    logout_user()
    g.pop("kennis_caller", None)
