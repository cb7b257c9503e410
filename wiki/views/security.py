"""Security headers, CORS, cookies over HTTPS and trusted reverse proxies: for every response.

- Every HTML response carries a Content-Security-Policy without inline scripts or styles, whose
  `frame-ancestors` comes from the `frame_ancestors` setting; `X-Frame-Options` says the same
  for old browsers while only this site may frame pages, and is left out when other sites may
  (CSP supersedes it, and it cannot name another site).
- CORS only for the origins in `cors_origins`, only on `/api/v1/` GET answers and
  `/opensearch.xml`; the allowed origin is echoed, never `*`.
- `X-Forwarded-For` and `X-Forwarded-Proto` are believed only when the request comes straight
  from an address in `trusted_proxies` (werkzeug's ProxyFix alone would believe anyone). The
  address that really connected is kept in `environ["kennis.peer"]` for proxy sign-on.
- Cookies are `Secure` whenever the request came over HTTPS (or always, with
  `session_cookie_secure`); `HttpOnly` and `SameSite=Lax` are set in create_app.
"""

import re

from flask import has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix

from wiki.config import SettingsError, address_in

# No inline scripts or styles anywhere: every script is a file under /static.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}")
CORS_PATHS = ("/api/v1/", "/opensearch.xml")
_SOURCE = re.compile(r"'self'|'none'|(https?://)?(\*\.)?[A-Za-z0-9.-]+(:(\d+|\*))?/?|https?:")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:\d+)?")


def frame_ancestors(text: str) -> str:
    """The setting as a CSP source list (commas or spaces between sources)."""
    sources = [s for s in re.split(r"[\s,]+", text or "") if s]
    for source in sources:
        if not _SOURCE.fullmatch(source):
            raise SettingsError(f"setting frame_ancestors: {source!r} is not a CSP source "
                                "such as 'self' or https://portal.example.org")
    if "'none'" in sources and len(sources) > 1:
        raise SettingsError("setting frame_ancestors: 'none' stands alone")
    return " ".join(sources) or "'none'"


def cors_origins(text: str) -> frozenset[str]:
    origins = set()
    for part in (text or "").split(","):
        origin = part.strip().rstrip("/")
        if not origin:
            continue
        if not _ORIGIN.fullmatch(origin):
            raise SettingsError(f"setting cors_origins: {origin!r} is not an origin such as "
                                "https://portal.example.org (and never *)")
        origins.add(origin.lower())
    return frozenset(origins)


class _TrustedProxyFix:
    """ProxyFix, but only for requests that come straight from a trusted proxy."""

    def __init__(self, wsgi_app, networks: tuple, hops: int):
        self.plain = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=hops, x_proto=hops)
        self.networks = networks

    def __call__(self, environ, start_response):
        peer = environ.get("REMOTE_ADDR")
        environ["kennis.peer"] = peer
        if self.networks and address_in(peer, self.networks):
            return self.fixed(environ, start_response)
        return self.plain(environ, start_response)


def init_app(app) -> None:
    settings = app.extensions["kennis"].settings
    ancestors = frame_ancestors(settings.frame_ancestors)
    csp = CSP.format(ancestors=ancestors)
    frame_options = {"'self'": "SAMEORIGIN", "'none'": "DENY"}.get(ancestors)
    origins = cors_origins(settings.cors_origins)
    credentials = settings.cors_allow_credentials
    app.wsgi_app = _TrustedProxyFix(app.wsgi_app, settings.trusted_proxy_networks,
                                    max(1, settings.trusted_proxy_hops))

    base = app.response_class

    class Response(base):
        def set_cookie(self, key, *args, **kwargs):
            # Behind an HTTPS proxy (trusted_proxies) or served over HTTPS directly, every
            # cookie, the session and remember-me included, is sent over HTTPS only.
            if has_request_context() and request.is_secure:
                kwargs["secure"] = True
            return super().set_cookie(key, *args, **kwargs)

    app.response_class = Response

    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", csp)
            if frame_options:
                response.headers.setdefault("X-Frame-Options", frame_options)
        if origins and request.path.startswith(CORS_PATHS):
            _cors(response, origins, credentials)
        return response


def _cors(response, origins: frozenset[str], credentials: bool) -> None:
    response.vary.add("Origin")
    origin = request.headers.get("Origin", "")
    if origin.lower() not in origins:
        return
    if request.method == "OPTIONS":  # a preflight: only for reading
        if request.headers.get("Access-Control-Request-Method", "") not in ("GET", "HEAD"):
            return
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Accept"
        response.headers["Access-Control-Max-Age"] = "600"
    elif request.method not in ("GET", "HEAD"):
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    if credentials:
        response.headers["Access-Control-Allow-Credentials"] = "true"
