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

A push that is behind is merged, not refused (issue 12): receive-pack runs in a git namespace
made for that push, so the client sees no branch to be behind of (the wiki's recent commits
appear as `.have` lines, which keeps its pack small) and its branch lands on a ref of its own;
`land_push` then fast-forwards the branch or merges under the write lock, and the report the
client reads says how it went (`ng` with the pages in conflict when it could not).

Like wiki/repo.py this runs git with an explicit environment and argument list and never through
a shell; repo.py stays the only module that runs git commands on the wiki's behalf.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from wiki import pushpolicy
from wiki.errors import InvalidInput, PermissionDenied, RepositoryBusy, Unauthorized, WikiError
from wiki.pushpolicy import ENV_FLAG
from wiki.repo import Repository
from wiki.users import Account, authored_by, commit_author

REALM = "Kennis"
UPLOAD = "git-upload-pack"
RECEIVE = "git-receive-pack"
SERVICES = (UPLOAD, RECEIVE)
CHUNK = 64 * 1024
_GIT_PROTOCOL = re.compile(r"version=[0-9](:[A-Za-z0-9._=-]+)*")
FLUSH = b"0000"
MAX_BAND_DATA = 65515  # side-band-64k: 65520 bytes a packet, less length and band
LAND_ATTEMPTS = 5  # plans made outside the write lock before one is made under it
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


def cgi_env(settings, request: GitRequest, account: Account, namespace: str | None = None
            ) -> dict[str, str]:
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
        # hook runs, no push is larger than the wiki allows, and a clone or fetch never
        # sees a push that is still being merged (see land_push).
        "GIT_CONFIG_COUNT": "3",
        "GIT_CONFIG_KEY_0": "core.hooksPath",
        "GIT_CONFIG_VALUE_0": str(hooks),
        "GIT_CONFIG_KEY_1": "receive.maxInputSize",
        "GIT_CONFIG_VALUE_1": str(int(settings.max_push_bytes)),
        "GIT_CONFIG_KEY_2": "uploadpack.hideRefs",
        "GIT_CONFIG_VALUE_2": "refs/namespaces/",
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
    if namespace is not None:
        # Made by pushpolicy.incoming_namespace(), never from the request.
        if not pushpolicy.is_incoming(namespace):
            raise ValueError(f"not a push namespace: {namespace!r}")
        env["GIT_NAMESPACE"] = namespace
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
                body: IO[bytes] | None, after: Callable[[], None] | None = None,
                permissions=None) -> CgiResponse:
    """Start http-backend, feed it `body` as it arrives and stream its answer.

    A push runs in a git namespace of its own (see wiki/pushpolicy.py): its advertisement
    shows the wiki's recent commits as `.have` lines and no branch, so a client that is behind
    still sends its push instead of refusing ("fetch first"); what it pushed lands on a ref of
    its own, which `land_push` merges into the branch once http-backend has finished, before
    the client reads git's report (rewritten when the merge is refused). `permissions` checks
    that merge; a push needs them.

    `after` runs once http-backend has finished (and before the response ends), also when
    the client went away: the catch-up after a push must never be skipped.
    """
    pushing = request.service == RECEIVE and not request.advertise
    if pushing and permissions is None:
        raise ValueError("a push needs the permission service to merge it")
    namespace = pushpolicy.incoming_namespace() if request.service == RECEIVE else None
    process = repo.http_backend(cgi_env(settings, request, account, namespace))
    errors: list[bytes] = []
    feeder = threading.Thread(target=_feed, args=(body, process.stdin), daemon=True)
    drainer = threading.Thread(target=_drain, args=(process.stderr, errors), daemon=True)
    feeder.start()
    drainer.start()
    landed: list[Landing | None] = []

    def finish() -> Landing | None:
        """Idempotent: the first call waits for git, lands the push and catches up."""
        if landed:
            return landed[0]
        if process.poll() is None:
            if pushing:
                # receive-pack may be storing the push; let it finish (it stops by itself
                # when the client went away mid-upload) so no half-landed ref stays behind.
                with contextlib.suppress(OSError, ValueError):
                    while process.stdout.read1(CHUNK):
                        pass
            else:
                process.kill()
        process.wait()
        feeder.join(timeout=5)
        drainer.join(timeout=5)
        if process.returncode != 0 or errors:
            log.warning("git http-backend (%s, %s) exited %s: %s", request.service,
                        account.name, process.returncode,
                        b"".join(errors).decode(errors="replace")[-2000:])
        landing = None
        if pushing:
            landing = land_push(repo, permissions, account, settings,
                                pushpolicy.incoming_ref(repo, namespace))
        landed.append(landing)
        if after is not None:
            try:
                after()
            except Exception:  # the next request's ensure_current() catches up instead
                log.exception("catching up after a push failed")
        return landing

    try:
        status, headers = _read_headers(process.stdout)
    except Exception:
        finish()
        raise
    content_type = dict((k.lower(), v) for k, v in headers).get("content-type", "")

    def stream() -> Iterator[bytes]:
        try:
            if status == 200 and request.service == RECEIVE and content_type == \
                    f"application/x-{RECEIVE}-advertisement":
                yield from _advertisement(process, repo)
            elif status == 200 and pushing and content_type == f"application/x-{RECEIVE}-result":
                yield from _push_result(process, repo.ref, finish)
            while True:
                chunk = process.stdout.read1(CHUNK)
                if not chunk:
                    break
                yield chunk
            process.wait()
        finally:
            finish()

    return CgiResponse(status, headers, stream())


# --- a push that is behind: merged into the branch (wiki/pushpolicy.py has the why) -----------

@dataclass(frozen=True)
class Landing:
    """What became of a push once git had stored it."""

    accepted: bool
    message: list[str]  # lines for the client's `remote:` output
    reason: str = ""  # when refused: the one line git shows beside the branch


@dataclass(frozen=True)
class _Plan:
    new: str | None  # where the branch goes; None: it stays
    landing: Landing


def land_push(repo: Repository, permissions, account: Account, settings, ref: str
              ) -> Landing | None:
    """Move the branch to the push stored on `ref` (fast-forward, or a merge commit by the
    pusher when pages were saved meanwhile) and delete `ref`; None when nothing was stored
    (the hook refused the push, or the client went away)."""
    try:
        pushed = repo.ref_value(ref)
        if pushed is None:
            return None
        return _land(repo, permissions, account, settings, pushed)
    except RepositoryBusy:
        return Landing(False, ["The wiki was too busy to take this push; nothing was changed. "
                               "Push again."], "the wiki is busy; push again")
    except Exception:
        log.exception("merging a push by %s failed", account.name)
        return Landing(False, ["The wiki could not merge this push; nothing was changed. "
                               "Push again, or pull first."],
                       "the wiki could not merge this push; push again")
    finally:
        repo.delete_ref(ref)


def _land(repo: Repository, permissions, account: Account, settings, pushed: str) -> Landing:
    # Merging takes a moment on a large wiki, so it is planned outside the write lock and
    # only the compare-and-swap happens under it; when web saves keep landing in between,
    # the last plan is made under the lock, where none can.
    for _attempt in range(LAND_ATTEMPTS):
        head = repo.head()
        plan = _plan(repo, permissions, account, settings, head, pushed)
        if plan.new is None:
            return plan.landing
        with repo.write_lock():
            if repo.head() == head:
                repo.set_branch(plan.new, head, f"push by {account.name}")
                return plan.landing
    with repo.write_lock():
        head = repo.head()
        plan = _plan(repo, permissions, account, settings, head, pushed)
        if plan.new is not None:
            repo.set_branch(plan.new, head, f"push by {account.name}")
        return plan.landing


def _plan(repo: Repository, permissions, account: Account, settings, head: str | None,
          pushed: str) -> _Plan:
    if head is None or repo.is_ancestor(head, pushed):
        return _Plan(pushed, Landing(True, []))
    if repo.is_ancestor(pushed, head):
        return _Plan(None, Landing(True, ["The wiki already has these commits; "
                                          "nothing changed."]))
    check = pushpolicy.check_merge(repo, permissions, account, settings, head, pushed)
    if check.tree is None:
        lines = ["Kennis refused this push; nothing was changed:"]
        lines += [f"  {line}" for line in check.lines[:pushpolicy.MAX_LISTED]]
        lines.append(pushpolicy.CONFLICT_ADVICE if check.conflicts else
                     "Fix these commits and push again. See the wiki's page Help/Git.")
        return _Plan(None, Landing(False, lines, check.reason()))
    base = repo.merge_base(head, pushed)
    saved = len(repo.log(base, head, with_changes=False)) if base else 0
    plural = "s" if saved != 1 else ""
    message = (f"Merge {account.name}'s push with web edits\n\n"
               f"{account.name} pushed {pushed[:12]}, based on {(base or '')[:12]}; "
               f"{saved} commit{plural} saved on the wiki since then merged cleanly.")
    merge = repo.commit_tree(check.tree, [head, pushed], message,
                             commit_author(account, settings.author_host))
    return _Plan(merge, Landing(True, [
        f"Kennis merged your push with {saved} change{plural} saved on the wiki since your "
        f"last pull (merge commit {merge[:12]}).",
        "`git pull` brings the merge to you."]))


# --- pkt-lines: git's framing (Documentation/gitprotocol-common.txt) ----------------------------

def _packets(stream: IO[bytes]) -> Iterator[bytes]:
    """The raw pkt-lines of a stream, each with its four-digit length; anything that is not
    a pkt-line ends the stream as one last chunk, passed on as it is."""
    while True:
        head = stream.read(4)
        if not head:
            return
        try:
            length = int(head, 16) if len(head) == 4 else -1
        except ValueError:
            length = -1
        if length < 0:
            yield head + stream.read()
            return
        yield head + (stream.read(length - 4) if length > 4 else b"")


def _pkt(payload: bytes) -> bytes:
    return b"%04x" % (len(payload) + 4) + payload


def _advertisement(process, repo: Repository) -> Iterator[bytes]:
    """receive-pack's advertisement with the wiki's recent commits added as `.have` lines:
    the branch itself is hidden from a push (it sits outside the push's namespace), and a
    client sends everything it cannot find among these, so a client that is behind would
    otherwise upload the wiki's whole history."""
    packets = list(_packets(process.stdout))
    process.wait()
    head = repo.head()
    known = {p[4:].split(b" ", 1)[0] for p in packets}
    flushes = [i for i, p in enumerate(packets) if p == FLUSH]
    has_refs = any(b"\0" in p and b"capabilities^{}" not in p for p in packets)
    if head is not None and has_refs and len(flushes) >= 2:
        extra = [_pkt(f"{oid} .have\n".encode()) for oid in repo.history_sample(head)
                 if oid.encode() not in known]
        packets[flushes[-1]:flushes[-1]] = extra
    yield b"".join(packets)


def _push_result(process, ref: str, finish: Callable[[], Landing | None]) -> Iterator[bytes]:
    """receive-pack's answer to a push, with its report on the wiki's branch held back until
    the push has landed (`finish`) and then told as it went: a refused merge turns git's
    `ok` into `ng` with the reason. Messages (side band 2) pass on as they come."""
    sideband = None
    report = bytearray()
    for packet in _packets(process.stdout):
        payload = packet[4:]
        if sideband is None and payload:
            sideband = payload[:1] in (b"\1", b"\2", b"\3")
        if not sideband:
            report += packet
        elif payload[:1] == b"\1" and len(payload) > 1:
            report += payload[1:]
        elif payload[:1] in (b"\1", b"\2", b"\3"):
            yield packet  # messages, errors and keep-alives
    process.wait()
    landing = finish()
    lines = _report_lines(bytes(report), ref, landing)
    answer = b"".join(_pkt(line) if line is not None else FLUSH for line in lines)
    if not sideband:
        yield answer
        return
    for text in landing.message if landing else []:
        yield _pkt(b"\2" + text.encode("utf-8", errors="replace") + b"\n")
    for start in range(0, len(answer), MAX_BAND_DATA):
        yield _pkt(b"\1" + answer[start:start + MAX_BAND_DATA])
    yield FLUSH


def _report_lines(report: bytes, ref: str, landing: Landing | None) -> list[bytes | None]:
    """git's report-status (v1 or v2) as payloads (None: flush), with the branch's line
    telling how the push landed."""
    stream = io.BytesIO(report)
    lines: list[bytes | None] = []
    dropping = False
    for packet in _packets(stream):
        if packet == FLUSH or len(packet) <= 4:
            lines.append(None)
            continue
        payload = packet[4:]
        if payload.startswith(b"option ") and dropping:
            continue  # report-status-v2 details of an update that did not happen after all
        dropping = False
        if payload.rstrip(b"\n") == b"ok " + ref.encode() and landing is not None \
                and not landing.accepted:
            reason = re.sub(r"[\x00-\x1f]", " ", landing.reason)
            payload = f"ng {ref} {reason}\n".encode("utf-8", errors="replace")
            dropping = True
        lines.append(payload)
    if not lines or lines[-1] is not None:
        lines.append(None)
    return lines


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
