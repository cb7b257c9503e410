"""`wiki import PATH_OR_GIT_URL`: bring an existing Markdown repository, with its history, into
an empty wiki.

"Empty" means the branch holds nothing but the untouched starter commit of `wiki init` (or no
commit at all): the imported history replaces it, so its first commit is the source's first
commit, and the starter help pages the source does not have are added back in one last commit.
A wiki with any other change is refused: merging two unrelated histories is a job for a person
with `git`, not for an import.

The source's default branch is replayed commit by commit along its first parents (merges become
ordinary commits with the merged result), keeping every author, date and message. Files the
wiki cannot take (the push policy of wiki/hooks.py: symlinks, submodules, unsafe or non-NFC
names, `.gitattributes`, names that differ only in case, files over the size limits) are left
out of every commit and reported once each. Then the derived data is rebuilt.

The source is a local folder or an http(s)/file URL; it reaches git only after `--`, as an
absolute path or a checked URL, with every other transport (ext::, ssh, fd::) switched off.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from wiki import hooks, paths
from wiki.errors import InvalidInput, WikiError

IMPORT_REF = "refs/kennis-import/head"
STARTER_MESSAGE = "Kennis help pages"
_FULL_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class WikiNotEmpty(WikiError):
    """The wiki already has pages; import only into a new wiki (right after `wiki init`)."""

    status = 409
    code = "not_empty"


@dataclass
class ImportReport:
    commits: int = 0
    files: int = 0
    left_out: dict[str, str] = field(default_factory=dict)  # path -> reason


def source_argument(source: str) -> str:
    """The source as git may see it: an http(s) or file URL, or an existing folder's absolute
    path. Anything else (ssh, ext::, options) is refused."""
    if not isinstance(source, str) or not source.strip():
        raise InvalidInput("Name a folder or an http(s) URL to import from.")
    source = source.strip()
    if any(ord(c) < 32 or c == "\x7f" for c in source):
        raise InvalidInput("The source contains control characters.")
    if "://" in source:
        parts = urlsplit(source)
        if parts.scheme.lower() not in ("http", "https", "file") or \
                (parts.scheme.lower() != "file" and not parts.hostname):
            raise InvalidInput("Only http://, https:// and file:// URLs or a folder can be "
                               "imported.")
        return source
    if "::" in source:
        raise InvalidInput("git transports such as ext:: are not allowed.")
    folder = Path(source).expanduser().resolve()
    if not folder.is_dir():
        raise InvalidInput(f"There is no folder {folder}.")
    return str(folder)  # absolute: it can never look like an option


def is_untouched(repo, starter: dict[str, bytes]) -> bool:
    head = repo.head()
    if head is None:
        return True
    commits = repo.log(None, limit=2, with_changes=False)
    if len(commits) != 1 or commits[0].parents:
        return False
    wanted = {path: repo.blob_id_of(data) for path, data in starter.items()}
    return repo.tree(head) == wanted


def _fetch(repo, source: str) -> str:
    """Copy the source's default branch into IMPORT_REF; return its commit id."""
    env = {"GIT_ALLOW_PROTOCOL": "http:https:file", "GIT_TERMINAL_PROMPT": "0"}
    with tempfile.TemporaryDirectory(prefix="kennis-import-") as tmp:
        mirror = str(Path(tmp) / "source.git")
        # A clone first: it follows the source's HEAD to its default branch, and --no-local
        # copies objects through git's transport instead of hard-linking a folder we do not
        # control. No submodules, no hooks, no checkout.
        repo.git("clone", "--bare", "--no-local", "--no-tags", "--quiet", "--", source,
                  mirror, env={**env, "GIT_DIR": mirror}, timeout=3600)
        repo.git("fetch", "--no-tags", "--quiet", "--", mirror, f"+HEAD:{IMPORT_REF}",
                  env=env, timeout=3600)
    head = repo.git("rev-parse", "--verify", f"{IMPORT_REF}^{{commit}}").stdout.decode().strip()
    if not _FULL_ID.fullmatch(head):
        raise InvalidInput("The source has no commits.")
    return head


def _keep(entries: dict[bytes, tuple[str, str]], sizes: dict[str, int], settings,
          report: ImportReport) -> dict[bytes, tuple[str, str]]:
    kept: dict[bytes, tuple[str, str]] = {}
    for raw, (mode, oid) in sorted(entries.items()):
        reason = (hooks.name_problem(raw) or hooks.mode_problem(mode)
                  or hooks.size_problem(raw, sizes.get(oid, 0), settings.max_page_bytes,
                                        settings.max_attachment_bytes))
        if reason:
            report.left_out.setdefault(raw.decode("utf-8", errors="backslashreplace"), reason)
            continue
        kept[raw] = (mode, oid)
    taken: dict[str, bytes] = {}  # case-insensitive names (files and folders): first one wins
    for raw in list(kept):
        parts = raw.decode("utf-8").split("/")
        names = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
        clash = next((n for n in names if taken.get(paths.key(n), n) != n), None)
        if clash is not None:
            report.left_out.setdefault(raw.decode("utf-8"), "another name differs from it "
                                       "only in case")
            del kept[raw]
            continue
        for name in names:
            taken.setdefault(paths.key(name), name)
    return kept


def _write_tree(repo, entries: dict[bytes, tuple[str, str]], index: str) -> str:
    env = {"GIT_INDEX_FILE": index}
    repo.git("read-tree", "--empty", env=env)
    lines = b"".join(b"%s %s\t%s\0" % (mode.encode(), oid.encode(), raw)
                     for raw, (mode, oid) in entries.items())
    if lines:
        repo.git("update-index", "-z", "--index-info", input=lines, env=env)
    return repo.git("write-tree", env=env).stdout.decode().strip()


def import_repository(services, source: str) -> ImportReport:
    """Import `source` into the empty wiki of `services`; see the module docstring."""
    from wiki import home
    from wiki.repo import Author, Write

    repo, settings = services.repo, services.settings
    starter = home.starter_pages()
    argument = source_argument(source)
    if not is_untouched(repo, starter):
        raise WikiNotEmpty()
    report = ImportReport()
    tip = _fetch(repo, argument)
    try:
        with repo.write_lock():
            old = repo.head()
            if not is_untouched(repo, starter):
                raise WikiNotEmpty()
            new = _replay(repo, settings, tip, report)
            if new is None:
                raise InvalidInput("The source has no files the wiki can take.")
            zero = "0" * len(new)
            repo.git("update-ref", "-m", "wiki import", repo.ref, new, old or zero)
            have = {paths.key(p) for p in repo.tree(new)}
            missing = [Write(p, d) for p, d in starter.items() if paths.key(p) not in have]
            if missing:
                repo.commit(missing, STARTER_MESSAGE, Author("Kennis", "kennis@kennis.invalid"),
                            parent=new)
    finally:
        repo.git("update-ref", "-d", IMPORT_REF, check=False)
    services.catalog.rebuild()
    return report


def _replay(repo, settings, tip: str, report: ImportReport) -> str | None:
    commits = repo.git("rev-list", "--reverse", "--first-parent", tip).stdout.decode().split()
    parent = None
    fmt = "%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd%x00%B"
    with tempfile.TemporaryDirectory(prefix="kennis-import-") as tmp:
        index = os.path.join(tmp, "index")
        for commit in commits:
            files = hooks._files(repo, commit)
            sizes = repo.sizes([oid for mode, oid in files.values()
                                if mode in hooks.FILE_MODES])
            kept = _keep(files, sizes, settings, report)
            tree = _write_tree(repo, kept, index)
            meta = repo.git("show", "-s", "--date=raw", f"--format={fmt}", commit).stdout
            an, ae, ad, cn, ce, cd, message = meta.split(b"\0", 6)
            env = {"GIT_AUTHOR_NAME": an.decode("utf-8", "replace") or "Unknown",
                   "GIT_AUTHOR_EMAIL": ae.decode("utf-8", "replace"),
                   "GIT_AUTHOR_DATE": ad.decode(),
                   "GIT_COMMITTER_NAME": cn.decode("utf-8", "replace") or "Unknown",
                   "GIT_COMMITTER_EMAIL": ce.decode("utf-8", "replace"),
                   "GIT_COMMITTER_DATE": cd.decode()}
            env = {k: v.replace("\0", "") for k, v in env.items()}
            args = ["commit-tree", tree] + (["-p", parent] if parent else [])
            parent = repo.git(*args, input=message.rstrip(b"\n") + b"\n",
                               env=env).stdout.decode().strip()
            report.commits += 1
            report.files = len(kept)
    return parent
