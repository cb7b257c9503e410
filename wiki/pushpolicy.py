"""The push policy: what a `git push` may bring into the wiki, checked in git's pre-receive hook.

`wiki init` (every start, in fact) installs `hooks/pre-receive` into the bare repository: a tiny
shell script that execs `python -m wiki hook pre-receive`. git runs it for every push, after the
pushed objects arrived in a quarantine folder and before any ref moves; when it exits non-zero,
git throws the quarantine away, so a refused push leaves the repository exactly as it was. What
the hook prints, the git client shows as `remote: …` lines.

The hook reads the pushed objects through git (`Repository` keeps the quarantine variables
git hands the hook), never from files on disk. It refuses, with the path and the reason:
symlinks, submodules, `.gitattributes` and `.gitmodules`, names the wiki would refuse (not
UTF-8, not NFC, `..`, leading dots, control or bidi characters, …; attachments obey the same
rules as pages), two names differing only in case, files over the size limits, any path the
pusher may not write, pushes to any ref but the wiki's branch, branch deletion and
non-fast-forward updates; with `push_require_own_commits`, commits not authored by the pusher.

Which paths a push "changes": every path a new commit changes against its parent (for a merge,
only what differs from every parent, so a `git pull` merge does not make the colleague's web
edits count as yours), plus the net change from the old branch head to the new one (so a merge
cannot quietly take an old version of a page the pusher may not write).

The write lock: the checks run without it (a large push must not block web saves), then the
hook takes the repository write lock to confirm the branch is still where the push started.
A web save in progress is waited for, so the push is refused with a clear "pull and push
again" instead of git's bare "failed to update ref". The short gap between the hook's exit and
git's ref update stays: a web save landing there makes one of the two compare-and-swaps fail —
git refuses the push, or the web save merges again on top — and nothing is lost either way.
"""

from __future__ import annotations

import os
import shlex
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wiki import paths
from wiki.errors import InvalidPath
from wiki.repo import Entry
from wiki.users import authored_by, wiki_address

HOOK = "pre-receive"
MARKER = "Kennis pre-receive hook"
ENV_FLAG = "KENNIS_GIT_HTTP"  # set by wiki/gitserve.py for the git processes it starts
FILE_MODES = {"100644", "100755"}
SYMLINK_MODE = "120000"
GITLINK_MODE = "160000"
FORBIDDEN_FILES = {".gitattributes", ".gitmodules"}
# Settings `wiki check` expects in the repository's config (applied by Repository.init()).
REPOSITORY_SETTINGS = {
    "receive.fsckobjects": "true",
    "receive.denydeletes": "true",
    "receive.denynonfastforwards": "true",
    "http.getanyfile": "false",
}
MAX_LISTED = 50  # refusals printed; a push of 10,000 bad files says how many more there are


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str


# --- installing the hook ----------------------------------------------------------------------

def hook_script(python: str | None = None) -> str:
    python = python or sys.executable
    # -P: the hook runs inside the bare repository; never import from the current folder.
    return ("#!/bin/sh\n"
            f"# {MARKER}: installed by `wiki init`, overwritten at every start; do not edit.\n"
            "# Every push through the wiki's address is checked by the wiki's push policy.\n"
            f"exec {shlex.quote(python)} -P -m wiki hook {HOOK}\n")


def install(repository: Path, python: str | None = None) -> bool:
    """Write hooks/pre-receive (atomically); True when it was missing or different."""
    hooks = Path(repository) / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    target = hooks / HOOK
    text = hook_script(python)
    try:
        if target.read_text() == text and os.access(target, os.X_OK):
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    temporary = hooks / f".{HOOK}.{os.getpid()}.tmp"
    temporary.write_text(text)
    temporary.chmod(0o755)
    os.replace(temporary, target)
    return True


def check_repository(repo) -> list[str]:
    """Problems with the repository's push safety settings and hook, in plain words."""
    problems = []
    for key, wanted in REPOSITORY_SETTINGS.items():
        found = repo.config_value(key).lower()
        if found != wanted:
            problems.append(f"The repository setting {key} is {found or 'not set'!s}, "
                            f"expected {wanted}; run `wiki init` to apply it.")
    hook = Path(repo.path) / "hooks" / HOOK
    try:
        text = hook.read_text()
    except (FileNotFoundError, UnicodeDecodeError):
        text = ""
    if MARKER not in text or not os.access(hook, os.X_OK):
        problems.append(f"The push policy hook {hook} is missing or changed; "
                        "run `wiki init` to install it.")
    return problems


# --- single paths -----------------------------------------------------------------------------

def name_problem(raw: bytes) -> str | None:
    """Why the wiki cannot take a file of this name, or None. Attachments (every file that is
    not a `.md` page) follow the same rules as page names."""
    try:
        path = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the name is not valid UTF-8"
    if path.rpartition("/")[2].lower() in FORBIDDEN_FILES:
        return f"{path.rpartition('/')[2]} files are not allowed"
    if not unicodedata.is_normalized("NFC", path):
        return "the name is not in Unicode NFC form (some Mac tools decompose accents)"
    try:
        if path.lower().endswith(paths.PAGE_SUFFIX) and not path.endswith(paths.PAGE_SUFFIX):
            return "a page must end in .md in lower case"
        if path.endswith(paths.PAGE_SUFFIX):
            canonical = paths.to_file(path[: -len(paths.PAGE_SUFFIX)])
        else:
            canonical = paths.normalize(path)
    except InvalidPath as exc:
        return exc.message
    if canonical != path:
        return f"the name is not in its plain form (it would be {canonical!r})"
    return None


def mode_problem(mode: str) -> str | None:
    if mode == SYMLINK_MODE:
        return "symbolic links are not allowed"
    if mode == GITLINK_MODE:
        return "submodules are not allowed"
    if mode not in FILE_MODES:
        return f"files of mode {mode} are not allowed"
    return None


def size_problem(raw: bytes, size: int, max_page_bytes: int, max_attachment_bytes: int
                 ) -> str | None:
    if raw.endswith(paths.PAGE_SUFFIX.encode()):
        if size > max_page_bytes:
            return f"the page has {size:,} bytes; pages can have at most {max_page_bytes:,}"
    elif size > max_attachment_bytes:
        return (f"the file has {size:,} bytes; files can have at most "
                f"{max_attachment_bytes:,}")
    return None


def permission_name(path: str) -> str:
    """The name the permission rules see: a page without `.md`, an attachment as it is."""
    return path[: -len(paths.PAGE_SUFFIX)] if path.endswith(paths.PAGE_SUFFIX) else path


def case_collisions(files: Iterable[bytes]) -> dict[str, set[str]]:
    """Case-insensitive key -> the spellings, for every file and folder name that has several."""
    spellings: dict[str, set[str]] = {}
    for raw in files:
        path = raw.decode("utf-8", errors="replace")
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            name = "/".join(parts[:depth])
            spellings.setdefault(paths.key(name), set()).add(name)
    return {key: names for key, names in spellings.items() if len(names) > 1}


def _show(raw: bytes) -> str:
    return raw.decode("utf-8", errors="backslashreplace")


# --- reading the push through git --------------------------------------------------------------

def changed_entries(repo, update: RefUpdate) -> list[Entry]:
    """Every path the push changes (see the module's docstring), each with its new side."""
    zero = "0" * len(update.new)
    entries = repo.new_changes(update.new)
    if update.old == zero:
        entries += [Entry(name, mode, oid)
                    for name, (mode, oid) in repo.listing(update.new).items()]
    else:
        entries += repo.diff_entries(update.old, update.new)
    return entries


# --- the policy ---------------------------------------------------------------------------------

def check_push(repo, permissions, account, settings, updates: list[RefUpdate]) -> list[str]:
    """Every reason to refuse this push, as lines for the git client; [] to accept it."""
    problems: list[str] = []
    if account is None or account.is_anonymous:
        return ["Push with your wiki account (its password or an API token)."]
    if not account.can_edit:
        return [f"The account {account.name} may read but not change the wiki."]
    for update in updates:
        zero = "0" * len(update.new)
        if update.ref != repo.ref:
            problems.append(f"{update.ref}: only {repo.ref} can be pushed; "
                            "the wiki has no other branches or tags.")
            continue
        if update.new == zero:
            problems.append(f"{update.ref}: the wiki's branch cannot be deleted.")
            continue
        if update.old != zero and not repo.is_ancestor(update.old, update.new):
            problems.append(f"{update.ref}: this is not a fast-forward (a forced push?). "
                            "Pull, merge or rebase your work on top, and push again.")
            continue
        problems += _check_paths(repo, permissions, account, settings, update)
        if settings.push_require_own_commits:
            problems += _check_authors(repo, account, settings, update)
    return problems


def _check_authors(repo, account, settings, update: RefUpdate) -> list[str]:
    """With `push_require_own_commits`: every commit the push brings to the branch is
    authored by the pusher, as forges' push rules require. Otherwise a pusher could make
    history show a colleague's name without the "pushed by" note the wiki adds."""
    zero = "0" * len(update.new)
    commits = repo.log(None if update.old == zero else update.old, update.new,
                       with_changes=False)
    mine = wiki_address(account.name, settings.author_host)
    others = [c for c in commits if not authored_by(c.author, account, settings.author_host)]
    problems = [f"commit {c.id[:10]} is authored by {_author(c.author)}, not by "
                f"{account.name}" for c in others]
    if problems:
        yours = f"{mine} or {account.email}" if account.email else mine
        problems.append(f"This wiki accepts only commits you authored ({yours}): set "
                        "`git config user.email` and rewrite them, e.g. with "
                        "`git rebase -i --exec 'git commit --amend --no-edit --reset-author'`.")
    return problems


def _author(author) -> str:
    # The name and address come from the pusher's commit: printable characters only.
    text = f"{author.name} <{author.email}>"
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:200]


def _check_paths(repo, permissions, account, settings, update: RefUpdate) -> list[str]:
    entries = changed_entries(repo, update)
    present = [e for e in entries if not e.deleted]
    sizes = repo.sizes([e.oid for e in present if e.mode in FILE_MODES])
    refused: dict[bytes, str] = {}
    for entry in entries:
        if entry.path in refused:
            continue
        reason = None
        if not entry.deleted:
            reason = (name_problem(entry.path) or mode_problem(entry.mode)
                      or size_problem(entry.path, sizes.get(entry.oid, 0),
                                      settings.max_page_bytes, settings.max_attachment_bytes))
        if reason is None:
            try:
                name = entry.path.decode("utf-8")
            except UnicodeDecodeError:
                reason = "the name is not valid UTF-8"
            else:
                if not permissions.can_write(account, permission_name(name)):
                    reason = f"{account.name} may not change this path"
        if reason:
            refused[entry.path] = reason
    problems = [f"{_show(path)}: {reason}" for path, reason in refused.items()]
    zero = "0" * len(update.new)
    before = case_collisions(repo.listing(update.old)) if update.old != zero else {}
    for key, names in case_collisions(repo.listing(update.new)).items():
        if names != before.get(key):
            problems.append(f"{' and '.join(sorted(names))}: these names differ only in case; "
                            "the wiki (and Windows and Mac) would see one name.")
    return problems


def parse_updates(lines: Iterable[str]) -> list[RefUpdate]:
    updates = []
    for line in lines:
        fields = line.split()
        if len(fields) == 3:
            updates.append(RefUpdate(*fields))
    return updates


def report(problems: list[str]) -> str:
    lines = ["Kennis refused this push; nothing was changed:"]
    lines += [f"  {p}" for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f"  … and {len(problems) - MAX_LISTED} more.")
    lines.append("Fix these commits (for example with `git rebase -i`) and push again. "
                 "See the wiki's page Help/Git.")
    return "\n".join(lines) + "\n"
