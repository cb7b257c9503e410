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
edits count as yours), plus the net change from the push's base to its new head (so a merge
cannot quietly take an old version of a page the pusher may not write).

A push that is behind (pages were saved since its author pulled) is merged rather than refused
(issue 12): a push through the wiki's address lands on a ref of its own, its base is its merge
base with the branch, and the changes merged into the branch pass the same checks again (see
"a push that is behind" below and wiki/gitserve.py). Nothing a push does can rewrite history:
a forced push is merged like any other. Only real conflicts are refused, naming the pages.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from wiki import paths
from wiki.errors import InvalidPath
from wiki.names import NameMap
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
    zero = "0" * len(update.new)
    return _check_entries(repo, permissions, account, settings, changed_entries(repo, update),
                          None if update.old == zero else update.old, update.new)


def _check_entries(repo, permissions, account, settings, entries: list[Entry],
                   old: str | None, new: str) -> list[str]:
    """The refusals for these changed entries, going from tree-ish `old` (None: nothing) to
    tree-ish `new`."""
    present = [e for e in entries if not e.deleted]
    sizes = repo.sizes([e.oid for e in present if e.mode in FILE_MODES])
    old_files = repo.listing(old) if old is not None else {}
    new_files = repo.listing(new)
    new_names = _NewNames(old_files, new_files)
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
                elif not entry.deleted and entry.path not in old_files:
                    reason = new_names.problem(name)
        if reason:
            refused[entry.path] = reason
    problems = [f"{_show(path)}: {reason}" for path, reason in refused.items()]
    before = case_collisions(old_files) if old_files else {}
    for key, names in case_collisions(new_files).items():
        if names != before.get(key):
            problems.append(f"{' and '.join(sorted(names))}: these names differ only in case; "
                            "the wiki (and Windows and Mac) would see one name.")
    return problems


class _NewNames:
    """The rules for paths a push adds, the same as for names made on the web: plain Unicode
    (NFKC), no trailing dots, no Windows device names, no look-alike of another page, namespace
    or file (the pushed ones included), no file named like a page (it would block the page's
    folder: issue 12, item 4)."""

    def __init__(self, old_files: Mapping[bytes, object], new_files: Mapping[bytes, object]):
        self.old = NameMap(_decoded(old_files))
        self.new = NameMap(_decoded(new_files))
        decoded = [raw.decode("utf-8", errors="replace") for raw in new_files]
        self.pages = {paths.key(permission_name(p)) for p in decoded
                      if p.endswith(paths.PAGE_SUFFIX)}
        self.files = {paths.key(p) for p in decoded if not p.endswith(paths.PAGE_SUFFIX)}

    def problem(self, path: str) -> str | None:
        page = path.endswith(paths.PAGE_SUFFIX)
        name = permission_name(path)
        try:
            paths.check_new(name)
        except InvalidPath as exc:
            return exc.message
        key = paths.key(name)
        if key in (self.files if page else self.pages):
            return (f"a file cannot have the name of the page {name} (nor a page the name of "
                    "a file): the page could have no files or sub-pages")
        other = self.new.lookalike(name, existed=self.old.exists)
        if other is not None:
            kind = "page" if page else "name"
            return (f"the {kind} looks like {self.new.spelling(other)} (Unicode look-alikes); "
                    "choose a name that differs visibly")
        return None


def _decoded(files: Mapping[bytes, object]) -> list[str]:
    """Pages by name (no `.md`) and other files by path, as the wiki sees them."""
    found = []
    for raw in files:
        path = raw.decode("utf-8", errors="replace")
        found.append(permission_name(path))
    return found


def parse_updates(lines: Iterable[str]) -> list[RefUpdate]:
    updates = []
    for line in lines:
        fields = line.split()
        if len(fields) == 3:
            updates.append(RefUpdate(*fields))
    return updates


def report(problems: list[str], advice: str | None = None) -> str:
    lines = ["Kennis refused this push; nothing was changed:"]
    lines += [f"  {p}" for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f"  … and {len(problems) - MAX_LISTED} more.")
    lines.append(advice or "Fix these commits (for example with `git rebase -i`) and push "
                 "again. See the wiki's page Help/Git.")
    return "\n".join(lines) + "\n"


# --- a push that is behind: merged, not refused ---------------------------------------------------
#
# A push through the wiki's address never moves the branch itself. wiki/gitserve.py runs
# receive-pack in a git namespace of its own (GIT_NAMESPACE), so the client sees no branch
# (the wiki's commits only as `.have` lines, to keep the pack small) and its `main` lands on
# refs/namespaces/<that namespace>/refs/heads/main. This hook checks the push against its own
# base, the merge base with the branch; once git has stored it, gitserve fast-forwards the
# branch or merges, under the write lock, and tells the client. So a push that is behind
# because a page was saved meanwhile still lands when the changes merge cleanly.

INCOMING_PREFIX = "kennis-push-"
_INCOMING = re.compile(r"kennis-push-[0-9a-f]{32}")
CONFLICT_ADVICE = ("Run `git pull`, resolve the conflicts, commit and push again. "
                   "See the wiki's page Help/Git.")
MAX_NAMED = 10  # pages named in the one-line refusal git shows beside the branch


def incoming_namespace() -> str:
    """A fresh namespace for one push."""
    return f"{INCOMING_PREFIX}{uuid.uuid4().hex}"


def is_incoming(namespace: str | None) -> bool:
    return bool(namespace) and _INCOMING.fullmatch(namespace) is not None


def incoming_ref(repo, namespace: str) -> str:
    """Where the push's branch lands: the wiki's branch inside the push's namespace."""
    if not is_incoming(namespace):
        raise ValueError(f"not a push namespace: {namespace!r}")
    return f"refs/namespaces/{namespace}/{repo.ref}"


def against_head(repo, updates: list[RefUpdate], head: str | None
                 ) -> tuple[list[RefUpdate], list[str]]:
    """The updates of a namespaced push (they all create refs) with the branch's old side set
    to the push's base, the merge base with `head`: what the push changes is judged against
    what its author started from, never against web edits made since."""
    rebased, problems = [], []
    for update in updates:
        zero = "0" * len(update.new)
        if update.ref != repo.ref or update.new == zero or head is None:
            rebased.append(update)
            continue
        base = repo.merge_base(head, update.new)
        if base is None:
            problems.append(f"{update.ref}: these commits share no history with the wiki. "
                            "Clone the wiki and add your work on top.")
            continue
        rebased.append(RefUpdate(base, update.new, update.ref))
    return rebased, problems


@dataclass(frozen=True)
class MergeCheck:
    """A push merged into the branch head: the merged tree, or why it cannot be."""

    tree: str | None
    conflicts: list[str]  # pages and files changed on both sides in ways git cannot merge
    problems: list[str]  # what the push policy refuses in the merged result

    @property
    def lines(self) -> list[str]:
        return [f"{name}: changed both by this push and on the wiki since your last pull, "
                "in ways that do not merge (a conflict)" for name in self.conflicts] \
            + self.problems

    def reason(self) -> str:
        """One line for git's report beside the branch (no line breaks allowed there)."""
        if not self.conflicts:
            return f"refused by the push policy: {self.problems[0][:200]}"
        named = ", ".join(self.conflicts[:MAX_NAMED])
        more = f" and {len(self.conflicts) - MAX_NAMED} more" if \
            len(self.conflicts) > MAX_NAMED else ""
        return f"conflicts with changes saved on the wiki in {named}{more}; pull and push again"


def check_merge(repo, permissions, account, settings, head: str, pushed: str) -> MergeCheck:
    """Merge `pushed` into `head` as git's 3-way merge does. Every path the merge changes
    against `head` (which holds all web edits, so only the push's effect counts) passes the
    same checks as a pushed path: a page the web moved where the pusher may not write does
    not receive the pusher's edit through rename detection."""
    tree, conflicted = repo.merge_trees(head, pushed)
    if conflicted:
        return MergeCheck(None, [permission_name(_show(raw)) for raw in conflicted], [])
    problems = _check_entries(repo, permissions, account, settings,
                              repo.diff_entries(head, tree), head, tree)
    return MergeCheck(None if problems else tree, [], problems)
