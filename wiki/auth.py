"""Who is asking, and may they? The only module that imports Flask-Login.

`Permissions` is the single policy every service asks before it reveals or changes a page.
Views never decide permissions themselves.
"""

import time
from dataclasses import dataclass

from flask import current_app, g, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from wiki import config, paths
from wiki.acl import Acl, Rule
from wiki.errors import PageNotFound, PermissionDenied, Unauthorized, WikiError
from wiki.users import ACCOUNT_CACHE_SECONDS, ANONYMOUS, Account, Users


class Permissions:
    """The single policy every service asks before it reveals or changes a page.

    Without rules: logged-in users read everything, editors and admins write, anonymous
    visitors read only when `anonymous_read` is on. A rule on a prefix replaces that default
    for the pages under it (the most specific prefix wins). Admins read and write everything.
    Readers never write, whatever a rule says.
    """

    def __init__(self, acl: Acl, anonymous_read: bool):
        self.acl = acl
        self.anonymous_read = anonymous_read
        self._version = None
        self._rules: list[Rule] = []
        self._by_key: dict[str, Rule] = {}
        self._groups: dict[int, frozenset[str]] = {}

    def _current(self) -> list[Rule]:
        version = self.acl.version()
        if version != self._version:
            rules = sorted(self.acl.rules(), key=lambda r: len(r.key), reverse=True)
            self._rules, self._by_key = rules, {r.key: r for r in rules}
            self._groups = {}
            self._version = version
        return self._rules

    def rule_for(self, name: str) -> Rule | None:
        """The most specific rule covering `name`: the page itself, then its namespaces
        upwards (a dictionary lookup each: page lists ask this for every page)."""
        self._current()
        by_key, key = self._by_key, paths.key(name)
        while by_key:
            if key in by_key:
                return by_key[key]
            key, slash, _ = key.rpartition("/")
            if not slash:
                break
        return None

    def principals(self, account: Account) -> frozenset[str]:
        if account.is_anonymous:
            return frozenset({"anyone"})
        self._current()
        cache = self._groups  # a rule change meanwhile replaces it: never store stale groups
        groups = cache.get(account.id)
        if groups is None:
            groups = cache[account.id] = self.acl.groups_of(account.id)
        return frozenset({"anyone", "users", f"user:{account.name.lower()}",
                          *(f"group:{g}" for g in groups)})

    def _default_read(self, account: Account) -> bool:
        return not account.is_anonymous or self.anonymous_read

    def can_read(self, account: Account, name: str | None = None) -> bool:
        if account.is_admin:
            return True
        if name is None:  # the wiki at all: lists and feeds are then filtered page by page
            return self._default_read(account) or any(
                "anyone" in r.read for r in self._current())
        rule = self.rule_for(name)
        if rule is None:
            return self._default_read(account)
        return bool(rule.read & self.principals(account))

    def can_write(self, account: Account, name: str | None = None) -> bool:
        if not account.can_edit:
            return False
        if account.is_admin:
            return True
        rule = self.rule_for(name) if name else None
        if rule is None:
            return True
        principals = self.principals(account)
        return bool(rule.write & principals) and bool(rule.read & principals)

    def read_filter(self, account: Account) -> tuple[bool, tuple[tuple[str, bool], ...]]:
        """What this account may read, for filters inside queries (search): the default
        and, per rule prefix, whether the rule lets the account read."""
        if account.is_admin:
            return True, ()
        principals = self.principals(account)
        return self._default_read(account), tuple((r.prefix, bool(r.read & principals))
                                                  for r in self._current())

    def refuse_unseen(self, account: Account) -> None:
        """What anything this account may not see (or that does not exist) answers first:
        visitors who must log in are told to, which says nothing about whether it exists."""
        if account.is_anonymous and not self._default_read(account):
            raise Unauthorized()

    def require_read(self, account: Account, name: str | None = None) -> None:
        """Refuse reading; a page the account may not read looks exactly like a missing one."""
        if self.can_read(account, name):
            return
        self.refuse_unseen(account)
        if name is not None:
            raise PageNotFound()
        raise PermissionDenied()

    def require_write(self, account: Account, name: str | None = None) -> None:
        if self.can_write(account, name):
            return
        if account.is_anonymous:
            raise Unauthorized()
        if name is not None and not self.can_read(account, name):
            raise PageNotFound()
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
