"""Rate limits on guessing (logins, the setup link, API tokens, feed tokens and git
credentials) and on previews, which cost CPU. The only module that imports Flask-Limiter.

Only failures count (a 401 from the login form, a refused setup link, a bad bearer or feed
token), so colleagues behind one NAT address who log in correctly never meet the limit. Three
limits, so that nobody can lock a colleague out by guessing their password:
- per client address (`login_limit_per_address`): one machine guessing many accounts;
- per account name *and* address (`login_limit_per_account`): one machine guessing one
  account; the colleague at their own desk is not affected;
- per account name from anywhere (`login_limit_per_account_total`, softer): many machines
  guessing one account. It does not apply from an address this account logged in from
  successfully before (within `KNOWN_ADDRESS_DAYS`), so a correct login from the account's
  usual address still works while the account is under attack.
Once a limit is used up, every further try it covers is refused with 429 until the window
passes, even with the right password. The account limits count the name as typed, whether or
not such an account exists, so the 429 says nothing about which accounts exist.

Counters live in `ratelimit_storage_url`: `memory://` keeps them per worker process (each
worker counts on its own); `redis://…` shares them between every worker and node.

Views mark what they want limited with the decorators below; `init_app` wraps the marked views
of one app with that app's limiter, so nothing is built at import time.
"""

import ipaddress
import time

from flask import current_app, g, request
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many

from wiki.config import SettingsError

_MARK = "_kennis_rate_limit"
KNOWN_ADDRESS_DAYS = 60  # how long a successful login makes an address "usual" for an account


def login(view):
    """Limit failed POSTs of the login form per client address and per account name."""
    setattr(view, _MARK, "login")
    return view


def setup_link(view):
    """Limit refused setup-link tries per client address."""
    setattr(view, _MARK, "setup")
    return view


def git_auth(view):
    """Limit refused HTTP Basic credentials on the git routes per client address and per
    account name (the login form's limits: a password guessed through git counts too)."""
    setattr(view, _MARK, "git")
    return view


def preview(view):
    """Limit every preview per user (per address for visitors): a render may take up to
    render.RENDER_CPU_SECONDS of CPU, and readers may preview (issue 12)."""
    setattr(view, _MARK, "preview")
    return view


def _user_key() -> str:
    from wiki.auth import current_account

    account = current_account()
    if account.id is None:
        return _address_key()
    return f"user:{account.id}"


def _login_name() -> str:
    name = request.form.get("name", "") if request.method == "POST" else ""
    return str(name).strip().lower()[:64]


def _git_name() -> str:
    from wiki.gitserve import basic_credentials

    found = basic_credentials(request.headers.get("Authorization"))
    return (found[0] if found else "").strip().lower()[:64]


def _account_key() -> str:
    return "account:" + _login_name()


def _git_account_key() -> str:
    return "account:" + _git_name()


def _pair_key() -> str:
    return f"pair:{_login_name()}|{_address_key()}"


def _git_pair_key() -> str:
    return f"pair:{_git_name()}|{_address_key()}"


def _known_item(name: str) -> str:
    return f"kennis/known/{name}|{_address_key()}"


def remember_address(name: str) -> None:
    """A successful login of `name` from this request's address: from now on it is one of the
    account's usual addresses, which the per-account limit leaves alone."""
    limiter = current_app.extensions.get("kennis_limiter")
    if limiter is None or not name:
        return
    try:
        limiter.storage.incr(_known_item(name.strip().lower()[:64]),
                             KNOWN_ADDRESS_DAYS * 86_400)
    except Exception:  # noqa: BLE001 - a storage hiccup must not stop a correct login
        current_app.logger.warning("rate-limit storage: could not remember a login address")


def _usual_address(name: str) -> bool:
    limiter = current_app.extensions.get("kennis_limiter")
    if limiter is None or not name:
        return False
    try:
        return limiter.storage.get(_known_item(name)) > 0
    except Exception:  # noqa: BLE001 - without the storage, every address is unusual
        return False


def _login_from_usual_address() -> bool:
    return _usual_address(_login_name())


def _git_from_usual_address() -> bool:
    return _usual_address(_git_name())


def _address_key() -> str:
    address = get_remote_address() or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "address:" + address
    if ip.version == 6:  # one IPv6 client has a whole /64 to rotate through
        return "address:" + str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return "address:" + str(ip)


def _login_failed(response) -> bool:
    return response.status_code == 401


def _setup_failed(response) -> bool:
    return response.status_code in (400, 404)


def _git_refused(response) -> bool:
    # Git clients first ask without credentials and get 401: only refused credentials count.
    return response.status_code == 401 and bool(request.headers.get("Authorization"))


def _bad_token(response) -> bool:
    found = g.get("kennis_caller")
    return found is not None and found.via == "bad-token"


def _no_bearer() -> bool:
    return request.headers.get("Authorization", "")[:7].lower() != "bearer "


def _bad_feed_token(response) -> bool:
    return bool(g.get("kennis_bad_feed_token"))


def _no_feed_token() -> bool:
    return "token" not in request.args


def feed_token_refused() -> None:
    """A feed token in this request was refused: it counts against the address."""
    g.kennis_bad_feed_token = True


def _checked(name: str, value: str) -> str:
    try:
        parse_many(value)
    except ValueError as exc:
        raise SettingsError(f"setting {name}: {value!r} is not a rate limit such as "
                            f"10/minute") from exc
    return value


def init_app(app, settings) -> Limiter:
    per_address = settings.login_limit_per_address.strip()
    per_account = settings.login_limit_per_account.strip()
    per_account_total = settings.login_limit_per_account_total.strip()
    per_user_previews = settings.preview_limit_per_user.strip()
    for name, value in (("login_limit_per_address", per_address),
                        ("login_limit_per_account", per_account),
                        ("login_limit_per_account_total", per_account_total),
                        ("preview_limit_per_user", per_user_previews)):
        if value:
            _checked(name, value)
    message = _message
    # Any request that shows a bearer token or a feed token counts against its address when
    # the token is bad, whichever blueprint (pages, search, feeds, ...) answers it.
    tokens = [ApplicationLimit(per_address, key_function=_address_key, scope="bearer",
                               exempt_when=_no_bearer, deduct_when=_bad_token,
                               error_message=message),
              ApplicationLimit(per_address, key_function=_address_key, scope="feed-token",
                               exempt_when=_no_feed_token, deduct_when=_bad_feed_token,
                               error_message=message)] if per_address else []
    limiter = Limiter(_address_key, app=app, storage_uri=settings.ratelimit_storage_url,
                      strategy="moving-window", headers_enabled=False, key_prefix="kennis",
                      application_limits=tokens)

    marked = {endpoint for endpoint, view in app.view_functions.items()
              if getattr(view, _MARK, None)}
    for endpoint, view in list(app.view_functions.items()):
        kind = getattr(view, _MARK, None)
        limits = []
        if kind == "login":
            if per_address:
                limits.append(limiter.limit(per_address, key_func=_address_key, methods=["POST"],
                                            deduct_when=_login_failed, error_message=message))
            if per_account:
                limits.append(limiter.limit(per_account, key_func=_pair_key,
                                            methods=["POST"], deduct_when=_login_failed,
                                            error_message=message))
            if per_account_total:
                limits.append(limiter.limit(per_account_total, key_func=_account_key,
                                            methods=["POST"], deduct_when=_login_failed,
                                            exempt_when=_login_from_usual_address,
                                            error_message=message))
        elif kind == "setup" and per_address:
            limits.append(limiter.limit(per_address, key_func=_address_key,
                                        deduct_when=_setup_failed, error_message=message))
        elif kind == "preview" and per_user_previews:
            limits.append(limiter.limit(per_user_previews, key_func=_user_key,
                                        scope="preview", error_message=_preview_message))
        elif kind == "git":
            # Per account too: from many addresses (an IPv6 network has plenty) the address
            # limit alone would let one password be guessed without end.
            if per_address:
                limits.append(limiter.limit(per_address, key_func=_address_key,
                                            deduct_when=_git_refused, error_message=message))
            if per_account:
                limits.append(limiter.limit(per_account, key_func=_git_pair_key,
                                            deduct_when=_git_refused, error_message=message))
            if per_account_total:
                limits.append(limiter.limit(per_account_total, key_func=_git_account_key,
                                            deduct_when=_git_refused,
                                            exempt_when=_git_from_usual_address,
                                            error_message=message))
        for limit in limits:
            view = limit(view)
        app.view_functions[endpoint] = view

    _check_only_when_needed(app, limiter, marked)
    app.extensions["kennis_limiter"] = limiter
    return limiter


def _check_only_when_needed(app, limiter: Limiter, marked: set[str]) -> None:
    """Page views carry no credentials (no Authorization header, no feed `?token=`) and need
    no limit: skip Flask-Limiter's per-request evaluation for them (it cost about a third of a
    cached page view)."""
    funcs = app.before_request_funcs.setdefault(None, [])
    check = limiter._check_request_limit
    index = funcs.index(check)

    def check_when_needed():
        if request.endpoint in marked or "Authorization" in request.headers \
                or "token" in request.args:
            return check()
        return None

    funcs[index] = check_when_needed


def _message() -> str:
    from flask_babel import gettext as _

    return _("Too many failed attempts. Please wait a minute and try again.")


def _preview_message() -> str:
    from flask_babel import gettext as _

    return _("Too many previews. Please wait a moment and try again.")


def retry_after() -> int | None:
    """Seconds until the limit this request ran into lets the next try through."""
    limiter = current_app.extensions.get("kennis_limiter")
    breached = limiter.current_limit if limiter is not None else None
    if breached is None:
        return None
    try:
        return max(1, int(breached.reset_at - time.time()))
    except Exception:  # noqa: BLE001 - a storage hiccup must not turn a 429 into a 500
        return None
