"""`wiki import PATH_OR_GIT_URL`: bring an existing Markdown repository, with its history, into
an empty wiki.

"Empty" means the branch holds nothing but the untouched starter commit of `wiki init` (or no
commit at all): the imported history replaces it, so its first commit is the source's first
commit, and the starter help pages the source does not have are added back in one last commit.
A wiki with any other change is refused: merging two unrelated histories is a job for a person
with `git`, not for an import.

The source's default branch is replayed commit by commit along its first parents (merges become
ordinary commits with the merged result), keeping every author, date and message. Files the
wiki cannot take (the push policy of wiki/pushpolicy.py: symlinks, submodules, unsafe or non-NFC
names, `.gitattributes`, names that differ only in case, files over the size limits) are left
out of every commit and reported once each. Then the derived data is rebuilt.

The source is a local folder or an http(s)/file URL; it reaches git only after `--`, as an
absolute path or a checked URL, with every other transport (ext::, ssh, fd::) switched off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from wiki import paths, pushpolicy
from wiki.errors import InvalidInput, WikiError

IMPORT_REF = "refs/kennis-import/head"
STARTER_MESSAGE = "Kennis help pages"


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
    head = repo.fetch_default_branch(source, IMPORT_REF, timeout=3600)
    if head is None:
        raise InvalidInput("The source has no commits.")
    return head


def _keep(entries: dict[bytes, tuple[str, str]], sizes: dict[str, int], settings,
          report: ImportReport) -> dict[bytes, tuple[str, str]]:
    kept: dict[bytes, tuple[str, str]] = {}
    for raw, (mode, oid) in sorted(entries.items()):
        reason = (pushpolicy.name_problem(raw) or pushpolicy.mode_problem(mode)
                  or pushpolicy.size_problem(raw, sizes.get(oid, 0), settings.max_page_bytes,
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


def import_repository(services, source: str) -> ImportReport:
    """Import `source` into the empty wiki of `services`; see the module docstring."""
    from wiki import home
    from wiki.catalog import SYSTEM_AUTHOR, Change
    from wiki.repo import Write

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
            repo.set_branch(new, old, "wiki import")
    finally:
        repo.delete_ref(IMPORT_REF)

    def starter_back(head) -> Change:  # the starter pages the source does not have
        have = {paths.key(p) for p in repo.tree(head)}
        return Change([Write(p, d) for p, d in starter.items() if paths.key(p) not in have],
                      STARTER_MESSAGE)

    # Its catch-up sees a history unrelated to the one before: a full rebuild.
    services.catalog.commit(starter_back, SYSTEM_AUTHOR)
    return report


def _replay(repo, settings, tip: str, report: ImportReport) -> str | None:
    parent = None
    for commit in repo.first_parent_line(tip):
        files = repo.listing(commit)
        sizes = repo.sizes([oid for mode, oid in files.values() if mode in pushpolicy.FILE_MODES])
        kept = _keep(files, sizes, settings, report)
        parent = repo.copy_commit(commit, repo.write_listing(kept), parent)
        report.commits += 1
        report.files = len(kept)
    return parent
