"""Every setting: its name, type, default and one sentence.

Settings are read from `instance/wiki.toml` (keys in lower case, e.g. `anonymous_read = true`)
and overridden by environment variables `WIKI_<NAME>` (e.g. `WIKI_ANONYMOUS_READ=1`). The
README's settings table is checked against this list by a test.
"""

import functools
import ipaddress
import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit


def _setting(default, doc: str):
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class Settings:
    home: Path = _setting(Path("."), "Folder that holds the content, index and instance folders.")
    content_dir: Path | None = _setting(None, "Folder of the bare git repository `wiki.git` (default: `HOME/content`).")
    index_dir: Path | None = _setting(None, "Folder of the search index (default: `HOME/search_index`).")
    instance_dir: Path | None = _setting(None, "Folder of the database, secret key and `wiki.toml` (default: `HOME/instance`).")
    cache_dir: Path | None = _setting(None, "Folder of derived caches such as rendered pages (default: `HOME/cache`).")
    database_url: str = _setting("", "SQLAlchemy URL of the database (default: SQLite file `INSTANCE/wiki.db`).")
    site_name: str = _setting("Kennis", "Name shown in the header and page titles.")
    base_url: str = _setting("", "Public URL of the wiki, used in feeds and setup links (default: from the request).")
    theme: str = _setting("default", "Theme folder under `themes/` whose files override the default theme.")
    themes_dir: Path | None = _setting(None, "Folder that holds theme folders (default: `wiki/themes/` inside the package).")
    anonymous_read: bool = _setting(False, "Let visitors who are not logged in read pages.")
    default_language: str = _setting("en", "Language of the interface and of pages without a `lang` (en or nl).")
    max_page_bytes: int = _setting(2 * 1024 * 1024, "Largest page, in bytes, that can be saved.")
    max_attachment_bytes: int = _setting(25 * 1024 * 1024, "Largest file, in bytes, that can be attached to a page or added by a git push (pages also keep to `max_page_bytes`).")
    max_push_bytes: int = _setting(1024 * 1024 * 1024, "Largest git push, in bytes, that the wiki accepts (git's `receive.maxInputSize`).")
    branch: str = _setting("main", "Branch of the repository that holds the wiki.")
    write_lock_timeout: float = _setting(30.0, "Seconds a save waits for the repository write lock.")
    session_cookie_secure: bool = _setting(False, "Always mark cookies `Secure` (HTTPS only); without it they are `Secure` whenever the request came over HTTPS.")
    trusted_proxies: str = _setting("", "Comma-separated addresses or networks (CIDR) of reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed; empty: none.")
    trusted_proxy_hops: int = _setting(1, "How many trusted proxies in a row each add their entry to `X-Forwarded-For` and `X-Forwarded-Proto`.")
    ratelimit_storage_url: str = _setting("memory://", "Where rate-limit counters live: `memory://` (per worker process) or e.g. `redis://host:6379` shared by every process and node.")
    login_limit_per_address: str = _setting("10/minute", "Failed logins, setup-link tries and bad API tokens allowed per client address (e.g. `10/minute`; empty: no limit).")
    login_limit_per_account: str = _setting("5/minute", "Failed logins allowed per account name from one client address, whether or not the account exists (empty: no limit).")
    login_limit_per_account_total: str = _setting("30/hour", "Failed logins allowed per account name from all addresses together, except from addresses the account logged in from before (empty: no limit).")
    preview_limit_per_user: str = _setting("30/minute", "Previews of unsaved text allowed per user, or per address for visitors (each may take up to 2 s of CPU; empty: no limit).")
    proxy_auth_header: str = _setting("", "Header by which a trusted sign-on proxy names the user, e.g. `X-Remote-User`; empty: proxy sign-on off.")
    proxy_auth_trusted: str = _setting("", "Comma-separated addresses or networks (CIDR) of the sign-on proxies (default: `trusted_proxies`); the header is ignored from any other address.")
    proxy_auth_email_header: str = _setting("", "Header with the signed-on user's email address (optional).")
    proxy_auth_name_header: str = _setting("", "Header with the signed-on user's display name (optional).")
    proxy_auth_groups_header: str = _setting("", "Header with the signed-on user's comma-separated groups; when sent, the user's groups are synced to it (optional).")
    proxy_auth_role: str = _setting("editor", "Role of users created on first sign-on through the proxy (reader, editor or admin).")
    frame_ancestors: str = _setting("'self'", "Sites allowed to show pages in a frame (CSP `frame-ancestors`), e.g. `'self' https://portal.example.org`.")
    cors_origins: str = _setting("", "Comma-separated origins (e.g. `https://portal.example.org`) whose scripts may read `/api/v1/` GET answers and `/opensearch.xml`; empty: none.")
    cors_allow_credentials: bool = _setting(False, "Let those origins send the user's cookies with such requests.")
    render_cache_size: int = _setting(2000, "Rendered pages kept in memory per worker process.")
    access_log: str = _setting("", "Where `wiki serve` writes its access log: a file, `-` for standard output, empty for none (it costs about a third of page-view throughput).")
    smtp_host: str = _setting("", "SMTP server that sends notification email; empty: no email, only the in-app inbox.")
    smtp_port: int = _setting(25, "Port of the SMTP server.")
    smtp_from: str = _setting("kennis@localhost", "Sender address of notification email.")
    smtp_user: str = _setting("", "User name for the SMTP server (empty: no login).")
    smtp_password: str = _setting("", "Password for the SMTP server.")
    smtp_starttls: bool = _setting(False, "Switch the SMTP connection to TLS with STARTTLS before logging in.")
    metrics_enabled: bool = _setting(False, "Serve Prometheus metrics at `/metrics` (off: `/metrics` answers 404).")
    metrics_token: str = _setting("", "Bearer token a scraper sends to read `/metrics` (`Authorization: Bearer TOKEN`); empty: only `metrics_allow` addresses.")
    metrics_allow: str = _setting("", "Comma-separated addresses or networks (CIDR) that may read `/metrics` without the token; empty: none.")
    max_comment_chars: int = _setting(20000, "Longest discussion comment, in characters.")
    timezone: str = _setting("Europe/Amsterdam", "Time zone (IANA name) of event times typed without one; events are stored in UTC with their zone.")
    author_domain: str = _setting("", "Domain of the wiki's own author addresses: an edit by the account NAME is a commit by `NAME <NAME@DOMAIN>` (default: the host of `base_url`, else `kennis.invalid`).")
    push_require_own_commits: bool = _setting(False, "Refuse a git push that brings new commits whose author is not the pusher (the pusher's wiki address or account email).")
    thread_approval_prefixes: str = _setting("", "Comma-separated namespaces or pages (e.g. `HR, Board/Minutes`) where a new discussion waits for a moderator's approval before others see it; empty: none.")

    @property
    def content(self) -> Path:
        return Path(self.content_dir or self.home / "content")

    @property
    def repository(self) -> Path:
        return self.content / "wiki.git"

    @property
    def index(self) -> Path:
        return Path(self.index_dir or self.home / "search_index")

    @property
    def instance(self) -> Path:
        return Path(self.instance_dir or self.home / "instance")

    @property
    def cache(self) -> Path:
        return Path(self.cache_dir or self.home / "cache")

    @property
    def themes(self) -> Path:
        return Path(self.themes_dir or Path(__file__).resolve().parent / "themes")

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance / 'wiki.db'}"

    @property
    def author_host(self) -> str:
        """The domain of the wiki's author addresses (see `author_domain`)."""
        return self.author_domain.strip().lower() or _host(self.base_url) or "kennis.invalid"

    @property
    def trusted_proxy_networks(self) -> tuple:
        return networks(self.trusted_proxies)

    @property
    def proxy_auth_networks(self) -> tuple:
        return networks(self.proxy_auth_trusted or self.trusted_proxies)


def _host(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "") if url else ""
    except ValueError:  # e.g. a bracketed host that is not an IPv6 address
        return ""


@functools.lru_cache(maxsize=32)
def networks(text: str) -> tuple:
    """`10.0.0.1, 10.1.0.0/16` -> ip_network objects (SettingsError when one is not valid)."""
    found = []
    for part in (text or "").split(","):
        part = part.strip()
        if part:
            try:
                found.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise SettingsError(f"{part!r} is not an address or network") from exc
    return tuple(found)


def address_in(address: str | None, nets: tuple) -> bool:
    """Whether `address` (as the server saw it) lies in one of `nets`."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in nets)


def setting_fields():
    """(name, type name, default, sentence) for every setting, for docs and checks."""
    for f in fields(Settings):
        yield f.name, _type_name(f.type), f.default, f.metadata["doc"]


def _type_name(tp) -> str:
    if "Path" in str(tp):
        return "path"
    return {str: "text", bool: "boolean", int: "integer", float: "number"}[tp]


# Letters, digits, dots and dashes: it becomes the host part of commit author addresses.
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


class SettingsError(ValueError):
    pass


def _known_zone(name) -> bool:
    try:
        zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _convert(name: str, kind: str, value):
    if value is None:
        return None
    try:
        if kind == "path":
            return Path(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(value)
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {name}: {value!r} is not a valid {kind}") from exc


def load(home: str | os.PathLike | None = None, environ=None, **overrides) -> Settings:
    """Settings from defaults, then `instance/wiki.toml`, then `WIKI_*`, then `overrides`."""
    environ = os.environ if environ is None else environ
    home = Path(home or environ.get("WIKI_HOME") or ".").resolve()
    kinds = {name: kind for name, kind, _, _ in setting_fields()}
    values: dict = {"home": home}
    instance = Path(overrides.get("instance_dir") or environ.get("WIKI_INSTANCE_DIR")
                    or home / "instance")  # the same order as for the setting itself
    toml_file = instance / "wiki.toml"
    if toml_file.exists():
        try:
            data = tomllib.loads(toml_file.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{toml_file}: {exc}") from exc
        for name, value in data.items():
            if name not in kinds or name == "home":
                raise SettingsError(f"{toml_file}: unknown setting {name!r}")
            values[name] = _convert(name, kinds[name], value)
    for name, kind in kinds.items():
        env_name = "WIKI_" + name.upper()
        if name != "home" and env_name in environ:
            values[name] = _convert(name, kind, environ[env_name])
    for name, value in overrides.items():
        if name not in kinds:
            raise SettingsError(f"unknown setting {name!r}")
        values[name] = _convert(name, kinds[name], value)
    if values.get("default_language", "en") not in {"en", "nl"}:
        raise SettingsError("setting default_language: must be en or nl")
    if values.get("proxy_auth_role", "editor") not in {"reader", "editor", "admin"}:
        raise SettingsError("setting proxy_auth_role: must be reader, editor or admin")
    if not _known_zone(values.get("timezone", "Europe/Amsterdam")):
        raise SettingsError("setting timezone: not a known IANA time zone (e.g. Europe/Amsterdam)")
    if not _DOMAIN.fullmatch(values.get("author_domain", "") or "x"):
        raise SettingsError("setting author_domain: must be a domain name such as "
                            "wiki.example.org")
    for name in ("trusted_proxies", "proxy_auth_trusted"):
        try:
            networks(values.get(name, ""))
        except SettingsError as exc:
            raise SettingsError(f"setting {name}: {exc}") from exc
    return Settings(**values)
