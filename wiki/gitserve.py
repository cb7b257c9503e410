"""Git over smart HTTP: the real `git http-backend`, run as a CGI program behind the wiki's auth.

Who: HTTP Basic with the account's password or an API token as the password (any user name),
so git's credential helpers work. Browser session cookies are never looked at here: a page
could otherwise make the browser push or fetch with the visitor's session.

What: a clone or fetch hands out the whole repository (git cannot leave pages out), so it needs
read access to every page: the permission service's default read for the account and no rule
that denies it. A push additionally needs an editor; what it may change is decided path by
path in the pre-receive hook (wiki/pushpolicy.py), which git runs inside http-backend.

How: only the smart protocol's three addresses are served (`info/refs?service=…`,
`git-upload-pack`, `git-receive-pack`); the CGI environment is built from constants and
validated values, never copied from the request, so nothing a client sends becomes a git option,
a path or a config value. The request body is copied to http-backend as it arrives and its
answer is streamed back; http-backend itself inflates a gzip body.

Like wiki/repo.py this runs git with an explicit environment and argument list and never through
a shell; repo.py stays the only module that runs git commands on the wiki's behalf.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from wiki.errors import InvalidInput, PermissionDenied, Unauthorized, WikiError
from wiki.pushpolicy import ENV_FLAG
from wiki.repo import Repository
from wiki.users import Account, authored_by

REALM = "Kennis"
UPLOAD = "git-upload-pack"
RECEIVE = "git-receive-pack"
SERVICES = (UPLOAD, RECEIVE)
CHUNK = 64 * 1024
_GIT_PROTOCOL = re.compile(r"version=[0-9](:[A-Za-z0-9._=-]+)*")
log = logging.getLogger("wiki.git")


class GitAuthRequired(Unauthorized):
    """Git access needs your wiki user name and password, or an API token as the password."""


class NotSmartHttp(WikiError):
    """Only git's smart HTTP protocol is served here: use `git clone URL` with git 1.6.6 or
    newer."""

    status = 404
    code = "not_found"


# --- who is asking, and may they --------------------------------------------------------------

def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an `Authorization: Basic …` header, None when there is none."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep and password else None


def authenticate(users, header: str | None) -> Account:
    """The account behind the Basic credentials: a token first (cheap), then the password."""
    found = basic_credentials(header)
    if found is None:
        raise GitAuthRequired()
    name, secret = found
    account = users.by_token(secret) or (users.authenticate(name, secret) if name else None)
    if account is None:
        raise GitAuthRequired("Wrong user name, password or token.")
    return account


def reads_everything(permissions, account: Account) -> bool:
    """Whether the account may read every page: what a clone hands out."""
    default, rules = permissions.read_filter(account)
    return bool(default) and all(allowed for _prefix, allowed in rules)


def require_access(permissions, account: Account, service: str) -> None:
    if not reads_everything(permissions, account):
        raise PermissionDenied(
            f"A git clone holds the whole wiki, and {account.name} may not read every page, so "
            "git access is not available to this account. Ask an admin, or use the web and "
            "the API.")
    if service == RECEIVE and not account.can_edit:
        raise PermissionDenied(f"{account.name} may read the wiki but not change it, "
                               "so it cannot push.")


# --- the CGI bridge ---------------------------------------------------------------------------

@dataclass(frozen=True)
class GitRequest:
    """What the view read from the request, validated."""

    service: str
    advertise: bool  # GET info/refs?service=…, else POST to the service
    remote_addr: str
    content_length: int | None = None
    gzip: bool = False
    git_protocol: str | None = None

    @classmethod
    def build(cls, service: str, advertise: bool, *, remote_addr: str | None,
              content_type: str | None = None, content_length: int | None = None,
              content_encoding: str | None = None, git_protocol: str | None = None
              ) -> GitRequest:
        if service not in SERVICES:
            raise NotSmartHttp()
        if not advertise and (content_type or "").split(";")[0].strip() != \
                f"application/x-{service}-request":
            raise InvalidInput(f"A {service} request needs the content type "
                               f"application/x-{service}-request.")
        encoding = (content_encoding or "").strip().lower()
        if encoding not in ("", "gzip", "x-gzip"):
            raise InvalidInput("Only gzip is accepted as content encoding.")
        protocol = (git_protocol or "").strip()
        return cls(service=service, advertise=advertise,
                   remote_addr=remote_addr if remote_addr and
                   re.fullmatch(r"[0-9A-Fa-f:.]{1,64}", remote_addr) else "unknown",
                   content_length=content_length, gzip=bool(encoding),
                   git_protocol=protocol if _GIT_PROTOCOL.fullmatch(protocol) else None)


def settings_env(settings) -> dict[str, str]:
    """Every setting as WIKI_* variables, so the hook loads exactly the server's settings."""
    from wiki import config

    env = {}
    for name, kind, _default, _doc in config.setting_fields():
        value = getattr(settings, name)
        if value is None:
            continue
        if kind == "boolean":
            value = "1" if value else "0"
        env[f"WIKI_{name.upper()}"] = str(value)
    return env


def cgi_env(settings, request: GitRequest, account: Account) -> dict[str, str]:
    repository = settings.repository
    hooks = repository / "hooks"
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "GATEWAY_INTERFACE": "CGI/1.1",
        "GIT_PROJECT_ROOT": str(repository.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{repository.name}/" + ("info/refs" if request.advertise
                                               else request.service),
        "QUERY_STRING": f"service={request.service}" if request.advertise else "",
        "REQUEST_METHOD": "GET" if request.advertise else "POST",
        "REMOTE_USER": account.name,
        "REMOTE_ADDR": request.remote_addr,
        # The machine's git config must not change what the wiki serves.
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ATTR_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_NO_REPLACE_OBJECTS": "1",
        # Forced for every request, whatever the repository's config file says: the wiki's
        # hook runs, and no push is larger than the wiki allows.
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "core.hooksPath",
        "GIT_CONFIG_VALUE_0": str(hooks),
        "GIT_CONFIG_KEY_1": "receive.maxInputSize",
        "GIT_CONFIG_VALUE_1": str(int(settings.max_push_bytes)),
        ENV_FLAG: "1",
        "LC_ALL": "C",
    }
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    if not request.advertise:
        env["CONTENT_TYPE"] = f"application/x-{request.service}-request"
        if request.content_length is not None:
            env["CONTENT_LENGTH"] = str(int(request.content_length))
        if request.gzip:
            env["HTTP_CONTENT_ENCODING"] = "gzip"
    if request.git_protocol:
        env["GIT_PROTOCOL"] = request.git_protocol
        env["HTTP_GIT_PROTOCOL"] = request.git_protocol
    env.update(settings_env(settings))
    return env


@dataclass
class CgiResponse:
    status: int
    headers: list[tuple[str, str]]
    body: Iterator[bytes]


def after_push(repo: Repository, catalog, audit: Callable[[str, str, str, str], None],
               account: Account, author_domain: str) -> Callable[[], None]:
    """What runs once a push has finished: who pushed each new commit (git keeps only the
    author the pusher chose; history shows "pushed by" when the two differ), the catch-up
    every change ends with, and the audit row "N before..head" that the activity stream
    shows as "pushed N commits"."""
    before = repo.head()

    def after() -> None:
        head = repo.head()
        if head != before:
            commits = repo.log(before, head, with_changes=False)
            # Before the catch-up, so the revisions it records already know their pusher.
            catalog.record_push(account.name, {c.id: authored_by(c.author, account,
                                                                 author_domain)
                                               for c in commits})
            catalog.catch_up()
            count = len(commits) if before else 0
            audit(account.name, "git-push", repo.ref, f"{count} {before or ''}..{head}")

    return after


def run_backend(settings, repo: Repository, request: GitRequest, account: Account,
                body: IO[bytes] | None, after: Callable[[], None] | None = None
                ) -> CgiResponse:
    """Start http-backend, feed it `body` as it arrives and stream its answer.

    `after` runs once http-backend has finished (and before the response ends), also when
    the client went away: the catch-up after a push must never be skipped.
    """
    process = repo.http_backend(cgi_env(settings, request, account))
    errors: list[bytes] = []
    feeder = threading.Thread(target=_feed, args=(body, process.stdin), daemon=True)
    drainer = threading.Thread(target=_drain, args=(process.stderr, errors), daemon=True)
    feeder.start()
    drainer.start()

    def finish() -> None:
        if process.poll() is None:
            process.kill()
        process.wait()
        feeder.join(timeout=5)
        drainer.join(timeout=5)
        if process.returncode != 0 or errors:
            log.warning("git http-backend (%s, %s) exited %s: %s", request.service,
                        account.name, process.returncode,
                        b"".join(errors).decode(errors="replace")[-2000:])
        if after is not None:
            try:
                after()
            except Exception:  # the next request's ensure_current() catches up instead
                log.exception("catching up after a push failed")

    try:
        status, headers = _read_headers(process.stdout)
    except Exception:
        finish()
        raise

    def stream() -> Iterator[bytes]:
        try:
            while True:
                chunk = process.stdout.read1(CHUNK)
                if not chunk:
                    break
                yield chunk
            process.wait()
        finally:
            finish()

    return CgiResponse(status, headers, stream())


def _feed(body: IO[bytes] | None, stdin: IO[bytes]) -> None:
    try:
        while body is not None:
            chunk = body.read(CHUNK)
            if not chunk:
                break
            stdin.write(chunk)
    except (BrokenPipeError, OSError, ValueError):
        pass  # http-backend stopped reading (it answered already) or the client went away
    except Exception:  # a body over the size limit, say: http-backend sees a short request
        log.exception("reading a git request body failed")
    finally:
        with contextlib.suppress(OSError):
            stdin.close()


def _drain(stderr: IO[bytes], errors: list[bytes]) -> None:
    kept = 0
    for line in stderr:
        if kept < 64 * 1024:
            errors.append(line)
            kept += len(line)


def _read_headers(stdout: IO[bytes]) -> tuple[int, list[tuple[str, str]]]:
    status = 200
    headers = []
    while True:
        line = stdout.readline(8192)
        if not line:
            raise GitBackendFailed()
        text = line.decode("latin-1").rstrip("\r\n")
        if not text:
            break
        name, _, value = text.partition(":")
        name, value = name.strip(), value.strip()
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name.lower() in ("content-type", "cache-control", "expires", "pragma"):
            headers.append((name, value))
    return status, headers


class GitBackendFailed(WikiError):
    """git could not answer this request; please try again."""

    status = 500
    code = "git_failed"
