"""The git repository: the only module that runs git.

Content lives in a bare repository. The web never writes through a working tree or any index
(the `index.lock` races of working-tree commits lost files): `commit` writes blobs and the
rewritten folders and the commit as loose objects from Python (git's own format, written
atomically and fsynced like git does), then moves the branch with `update-ref NEW OLD`, git's
compare-and-swap, under one cross-process write lock: one git process per save. Loose objects
are also read from Python (trees above a change, blobs for a diff); anything packed is asked of
git.

git is called directly with argument lists, never through a shell. Every revision that may
come from a user is validated (`wiki.paths.revision`: hex or HEAD) and resolved to a full
commit id before it reaches git, and every path goes after `--`, on stdin or into a `rev:path`
batch line, so user text can never become an option (a revision `--output=/x` reached git in a
peer wiki). Pathspecs are literal (GIT_LITERAL_PATHSPECS), so `:(glob)*` is just a file name.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import subprocess
import tempfile
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from wiki.errors import (
    InvalidInput,
    InvalidPath,
    InvalidRevision,
    PageNotFound,
    RepositoryBusy,
    RevisionNotFound,
    WikiError,
)
from wiki.paths import revision as validate_revision

GIT = "git"
GIT_TIMEOUT = 60.0
LOCK_FILE = "kennis-write.lock"
BUNDLE_ATTEMPTS = 5
# A ref lock older than this, found while we hold the write lock, belongs to a git process
# that was killed mid-transaction; live ref transactions take milliseconds.
STALE_REF_LOCK_SECONDS = 5.0
FILE_MODE = "100644"
_FILE_MODES = {"100644", "100755"}
_FULL_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_BRANCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
# Inherited only inside a pre-receive hook, where the pushed objects sit in quarantine.
_INHERITED_GIT_VARS = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                       "GIT_QUARANTINE_PATH")
LOOSE_COMPRESSION = 1  # git's default core.looseCompression (best speed)
TREE_CACHE_ENTRIES = 200_000  # parsed tree entries kept per process (a 4,600-file folder: 4,600)
BLOB_CACHE_BYTES = 8 << 20  # blobs this process just wrote, for the catch-up that follows
MADE_COMMITS = 16  # commits this process made, remembered for the catch-up
TREE_RECORDS = 32  # trees this process wrote, kept formatted for the next save in that folder
BATCH_FROM_GIT = 50  # read_many: more blobs than this come from one `cat-file --batch`


class GitError(Exception):
    """git failed in a way no user input explains (corruption, disk full, timeout)."""

    def __init__(self, command: Sequence[str], returncode: int | None, stderr: str):
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"git {' '.join(self.command[:2])} failed ({returncode}): "
                         f"{stderr.strip()[:2000]}")


class HeadMoved(WikiError):
    """The wiki changed while your edit was being saved; please try again."""

    status = 409
    code = "head_moved"


class NothingToCommit(WikiError):
    """There are no changes to save."""

    code = "no_changes"


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True)
class FileChange:
    status: str  # "A", "M", "D" or "R"
    path: str
    old_path: str | None = None  # only for "R"


@dataclass(frozen=True)
class CommitInfo:
    id: str
    parents: tuple[str, ...]
    author: Author
    date: datetime  # author date, tz-aware UTC
    message: str
    changes: tuple[FileChange, ...] = ()


@dataclass(frozen=True)
class Write:
    """Add or replace a file."""

    path: str
    data: bytes


@dataclass(frozen=True)
class Delete:
    path: str


@dataclass(frozen=True)
class Entry:
    """One side of a changed path, with its name as git stores it (bytes, perhaps not UTF-8):
    `mode` "000000" means the path is gone."""

    path: bytes
    mode: str
    oid: str

    @property
    def deleted(self) -> bool:
        return self.mode == "000000"


@dataclass(frozen=True)
class Committed:
    """A commit this process made, as `log` would describe it, with the blob id of every file
    it wrote: the catch-up after a save needs neither `git log` nor a tree listing."""

    info: CommitInfo
    blobs: dict[str, str]


@dataclass(frozen=True)
class BlameLine:
    revision: str  # "" when the reader may not see the commit (Pages.blame)
    author: Author
    date: datetime | None
    line_no: int
    text: str
    pushed_by: str = ""  # who pushed the commit with git, when not its author (Pages.blame)


def _utc(timestamp: bytes | str) -> datetime:
    return datetime.fromtimestamp(int(timestamp), tz=UTC)


def _text(data: bytes) -> str:
    """Messages, names and e-mails: shown to people, so a bad byte must not break a page."""
    return data.decode("utf-8", errors="replace")


def _path_str(data: bytes) -> str:
    # surrogateescape round-trips a non-UTF-8 name from old history; paths.normalize refuses it.
    return data.decode("utf-8", errors="surrogateescape")


def _path_bytes(path: str) -> bytes:
    return path.encode("utf-8", errors="surrogateescape")


def check_path(path: str) -> str:
    """A repository file path that git could store; raise InvalidPath otherwise."""
    if not isinstance(path, str) or not path:
        raise InvalidPath("A file path cannot be empty.")
    if "\0" in path or "\n" in path or path.startswith("/") or path.endswith("/"):
        raise InvalidPath("This file path is not allowed.")
    for segment in path.split("/"):
        if segment in {"", ".", ".."} or segment.lower() == ".git":
            raise InvalidPath("This file path is not allowed.")
    return path


def _clean_ident(value: str) -> str:
    # git strips these itself, but NUL cannot even be put into the environment.
    return re.sub(r"[\x00-\x1f<>]", "", value).strip()


def _git_ident(value: str) -> str:
    """A name or e-mail as git's commit-tree would store it: no control characters or angle
    brackets inside, none of git's "crud" (space and ,:;<>"\\') at either end."""
    return _clean_ident(value).strip(" ,:;<>\"\\'")


class Repository:
    """A bare git repository holding the wiki's pages and attachments."""

    def __init__(self, path: Path, branch: str = "main", lock_timeout: float = 30.0):
        if not _BRANCH.fullmatch(branch) or ".." in branch or branch.endswith(".lock"):
            raise ValueError(f"invalid branch name {branch!r}")
        self.path = Path(path)
        self.branch = branch
        self.ref = f"refs/heads/{branch}"
        self.lock_timeout = lock_timeout
        self._local = threading.local()  # the write-lock fd held by this thread
        self._writer = threading.Lock()  # this process's threads take turns at the flock
        self._cache_lock = threading.Lock()
        self._trees: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._commits: OrderedDict[str, None] = OrderedDict()  # ids known to be commits
        # Objects are immutable, so what was parsed once is kept (bounded, least recent out).
        self._tree_objects: OrderedDict[str, dict[bytes, tuple[str, str]]] = OrderedDict()
        self._tree_entries = 0
        self._roots: OrderedDict[str, str] = OrderedDict()  # commit id -> root tree id
        self._blobs: OrderedDict[str, bytes] = OrderedDict()
        self._blob_bytes = 0
        self._made: OrderedDict[str, Committed] = OrderedDict()
        self._records: OrderedDict[str, tuple[dict[bytes, bytes], list[bytes]]] = OrderedDict()

    # -- running git -------------------------------------------------------------------

    def _env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "GIT_DIR": str(self.path),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_ATTR_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_LITERAL_PATHSPECS": "1",
            "GIT_NO_REPLACE_OBJECTS": "1",
            "LC_ALL": "C",
        }
        for name in ("TMPDIR", "TZ", *_INHERITED_GIT_VARS):
            if name in os.environ:
                env[name] = os.environ[name]
        if extra:
            env.update(extra)
        return env

    def _git(self, *args: str | bytes, input: bytes | None = None, check: bool = True,
             env: dict[str, str] | None = None, timeout: float = GIT_TIMEOUT,
             ) -> subprocess.CompletedProcess[bytes]:
        command = [GIT, *args]
        lock_fd = getattr(self._local, "fd", None)
        try:
            result = subprocess.run(
                command, input=input, capture_output=True, env=self._env(env),
                cwd=self.path if self.path.is_dir() else None, timeout=timeout, check=False,
                # A git child of a worker killed mid-commit keeps running (update-ref, say);
                # handing it the lock fd keeps the write lock held until that child is done.
                pass_fds=(lock_fd,) if lock_fd is not None else (),
            )
        except subprocess.TimeoutExpired as exc:
            raise GitError(_printable(command), None, f"timed out after {timeout} s") from exc
        except OSError as exc:
            raise GitError(_printable(command), None, str(exc)) from exc
        if check and result.returncode != 0:
            raise GitError(_printable(command), result.returncode, _text(result.stderr))
        return result

    def http_backend(self, cgi_env: dict[str, str]) -> subprocess.Popen:
        """Start `git http-backend` (smart HTTP) with a CGI environment the caller built from
        constants and checked values; its pipes are the caller's to feed and drain."""
        return subprocess.Popen([GIT, "http-backend"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cgi_env,
                                cwd=self.path.parent)

    # -- the repository ----------------------------------------------------------------

    def exists(self) -> bool:
        return (self.path / "HEAD").is_file() and (self.path / "objects").is_dir()

    def init(self) -> bool:
        """Create the bare repository if missing and (re)apply its settings; True if created."""
        created = not self.exists()
        if created:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [GIT, "init", "--bare", "--quiet", f"--initial-branch={self.branch}", "--",
                 str(self.path)],
                capture_output=True, check=True, timeout=GIT_TIMEOUT,
                env={k: v for k, v in self._env().items() if k != "GIT_DIR"},
            )
        self._git("symbolic-ref", "HEAD", self.ref)
        for key, value in (
            ("receive.fsckObjects", "true"),
            ("receive.denyDeletes", "true"),
            ("receive.denyNonFastForwards", "true"),
            ("http.getanyfile", "false"),
            ("http.receivepack", "true"),
            # git >= 2.36 fsyncs objects and refs; older versions ignore the unknown key.
            ("core.fsync", "committed"),
        ):
            self._git("config", key, value)
        return created

    def bundle(self, target: Path) -> None:
        """Write every ref of the repository (the branch and anything else kept under refs/)
        into one git bundle file: a consistent copy taken while the wiki keeps writing."""
        for attempt in range(BUNDLE_ATTEMPTS):
            result = self._git("bundle", "create", "--quiet", "--", str(target), "--all",
                               timeout=3600, check=False)
            if result.returncode == 0:
                return
            # Under a burst of saves git can read the refs mid-update and see none ("Refusing
            # to create empty bundle"); the next look finds them again.
            if attempt + 1 == BUNDLE_ATTEMPTS or b"empty bundle" not in result.stderr:
                raise GitError(["bundle", "create"], result.returncode, _text(result.stderr))
            time.sleep(0.1 * (attempt + 1))

    def unbundle(self, source: Path) -> None:
        """Fill this new repository with every ref of a bundle (`bundle`'s counterpart)."""
        self._git("bundle", "verify", "--quiet", "--", str(source), timeout=3600)
        self._git("fetch", "--quiet", "--", str(source), "refs/*:refs/*", timeout=3600)

    def head(self) -> str | None:
        """The branch's commit id, None while empty. Hot path: no git process."""
        try:
            loose = (self.path / self.ref).read_bytes().strip()
        except FileNotFoundError:
            loose = None
        except IsADirectoryError:
            loose = b"?"
        if loose is not None:
            value = loose.decode("ascii", errors="replace")
            if _FULL_ID.fullmatch(value):
                return value
            return self._head_from_git()
        # git writes packed-refs before it deletes the loose ref, so reading in this order
        # never misses a ref that is being packed.
        try:
            packed = (self.path / "packed-refs").read_bytes()
        except FileNotFoundError:
            return None
        wanted = self.ref.encode()
        for line in packed.splitlines():
            if not line or line[:1] in (b"#", b"^"):
                continue
            oid, _, name = line.partition(b" ")
            if name == wanted:
                value = oid.decode("ascii", errors="replace")
                if _FULL_ID.fullmatch(value):
                    return value
                return self._head_from_git()
        return None

    def _head_from_git(self) -> str | None:
        result = self._git("rev-parse", "--verify", "--quiet", f"{self.ref}^{{commit}}",
                           check=False)
        value = result.stdout.decode("ascii", errors="replace").strip()
        return value if result.returncode == 0 and _FULL_ID.fullmatch(value) else None

    # -- revisions ---------------------------------------------------------------------

    def _known_commit(self, oid: str) -> bool:
        with self._cache_lock:
            if oid in self._commits:
                self._commits.move_to_end(oid)
                return True
        return False

    def _remember_commit(self, oid: str) -> None:
        with self._cache_lock:
            self._commits[oid] = None
            self._commits.move_to_end(oid)
            while len(self._commits) > 4096:
                self._commits.popitem(last=False)

    # -- objects read and written from Python -------------------------------------------

    def _objects_dir(self) -> Path:
        # Inside the pre-receive hook, new objects belong in git's quarantine.
        return self.path / os.environ.get("GIT_OBJECT_DIRECTORY", "objects")

    def _python_reads(self) -> bool:
        # In quarantine part of the objects are elsewhere: ask git.
        return not any(name in os.environ for name in _INHERITED_GIT_VARS)

    def _read_loose(self, oid: str) -> tuple[bytes, bytes] | None:
        """(type, data) of a loose object, None when it is not loose (packed: ask git)."""
        if not self._python_reads() or not _FULL_ID.fullmatch(oid):
            return None
        try:
            raw = (self.path / "objects" / oid[:2] / oid[2:]).read_bytes()
            data = zlib.decompress(raw)
        except (OSError, zlib.error):
            return None  # git reports corruption better than we would
        header, nul, body = data.partition(b"\0")
        kind, _, size = header.partition(b" ")
        if not nul or not size.isdigit() or int(size) != len(body):
            return None
        return kind, body

    def _write_loose(self, kind: bytes, data: bytes, oid: str) -> None:
        """Store an object the way git does: zlib of "<type> <size>\\0<data>" at
        objects/xx/yyyy, written to a temporary file, fsynced (core.fsync=committed), made
        read-only and linked into place, so no reader ever sees half an object."""
        folder = self._objects_dir() / oid[:2]
        target = folder / oid[2:]
        if target.exists():
            # git "freshens" an object it would write again, so a gc does not prune it now.
            with contextlib.suppress(OSError):
                os.utime(target)
            return
        folder.mkdir(parents=True, exist_ok=True)
        packer = zlib.compressobj(LOOSE_COMPRESSION)
        compressed = packer.compress(b"%s %d\0" % (kind, len(data))) + packer.compress(data) \
            + packer.flush()
        fd, tmp = tempfile.mkstemp(prefix="tmp_obj_", dir=folder)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(compressed)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(tmp, 0o444)
            with contextlib.suppress(FileExistsError):  # another writer was first: same bytes
                os.link(tmp, target)
        finally:
            os.unlink(tmp)

    def _cached_tree(self, oid: str) -> dict[bytes, tuple[str, str]] | None:
        """The entries of a tree (never to be mutated) from memory or a loose object."""
        with self._cache_lock:
            entries = self._tree_objects.get(oid)
            if entries is not None:
                self._tree_objects.move_to_end(oid)
                return entries
        found = self._read_loose(oid)
        if found is None or found[0] != b"tree":
            return None
        entries = _parse_tree(found[1], len(oid) // 2)
        self._remember_tree(oid, entries)
        return entries

    def _remember_tree(self, oid: str, entries: dict[bytes, tuple[str, str]]) -> None:
        with self._cache_lock:
            if oid in self._tree_objects:
                return
            self._tree_objects[oid] = entries
            self._tree_entries += len(entries) + 1
            while self._tree_entries > TREE_CACHE_ENTRIES and len(self._tree_objects) > 1:
                _oid, old = self._tree_objects.popitem(last=False)
                self._tree_entries -= len(old) + 1

    def _tree_records(self, oid: str | None) -> tuple[dict[bytes, bytes], list[bytes]] | None:
        """A tree this process wrote as (sort key -> entry bytes, sorted keys); never mutate."""
        with self._cache_lock:
            return self._records.get(oid) if oid else None

    def _remember_records(self, oid: str, records: dict[bytes, bytes], keys: list[bytes]
                          ) -> None:
        with self._cache_lock:
            self._records[oid] = (records, keys)
            self._records.move_to_end(oid)
            while len(self._records) > TREE_RECORDS:
                self._records.popitem(last=False)

    def _root_tree(self, commit: str) -> str | None:
        """The root tree id of a commit, from memory or a loose object; None: ask git."""
        with self._cache_lock:
            root = self._roots.get(commit)
        if root is not None:
            return root
        found = self._read_loose(commit)
        if found is None or found[0] != b"commit" or not found[1].startswith(b"tree "):
            return None
        root = found[1][5:found[1].index(b"\n")].decode("ascii", errors="replace")
        if not _FULL_ID.fullmatch(root):
            return None
        self._remember_root(commit, root)
        return root

    def _remember_root(self, commit: str, root: str) -> None:
        with self._cache_lock:
            self._roots[commit] = root
            while len(self._roots) > 4096:
                self._roots.popitem(last=False)

    def _entry_at(self, commit: str, path: str) -> tuple[str, str] | None | bool:
        """(mode, id) of `path` at `commit` walked from memory and loose objects, None when
        there is no such entry, False when an object on the way is packed (ask git)."""
        tree = self._root_tree(commit)
        if tree is None:
            return False
        *folders, name = _path_bytes(path).split(b"/")
        for folder in folders:
            entries = self._cached_tree(tree)
            if entries is None:
                return False
            entry = entries.get(folder)
            if entry is None or not _is_tree(entry[0]):
                return None
            tree = entry[1]
        entries = self._cached_tree(tree)
        if entries is None:
            return False
        return entries.get(name)

    def _cached_blob(self, oid: str) -> bytes | None:
        with self._cache_lock:
            data = self._blobs.get(oid)
        if data is not None:
            return data
        found = self._read_loose(oid)
        return found[1] if found is not None and found[0] == b"blob" else None

    def _remember_blob(self, oid: str, data: bytes) -> None:
        if len(data) > BLOB_CACHE_BYTES // 4:
            return
        with self._cache_lock:
            if oid in self._blobs:
                return
            self._blobs[oid] = data
            self._blob_bytes += len(data)
            while self._blob_bytes > BLOB_CACHE_BYTES:
                _oid, old = self._blobs.popitem(last=False)
                self._blob_bytes -= len(old)

    def made(self, commit: str | None) -> Committed | None:
        """What this process committed as `commit`, if it did (and recently)."""
        with self._cache_lock:
            return self._made.get(commit) if commit else None

    def resolve(self, rev: str) -> str:
        """A user's revision (hex prefix or HEAD) as a full commit id."""
        rev = validate_revision(rev)
        if rev == "HEAD":
            head = self.head()
            if head is None:
                raise RevisionNotFound("The wiki has no revisions yet.")
            return head
        if _FULL_ID.fullmatch(rev):
            if self._known_commit(rev):
                return rev
            found = self._read_loose(rev)
            if found is not None and found[0] == b"commit":
                self._remember_commit(rev)
                return rev
            result = self._git("cat-file", "-t", rev, check=False)
            if result.returncode != 0 or result.stdout.strip() != b"commit":
                raise RevisionNotFound()
            self._remember_commit(rev)
            return rev
        # A short id: rev-parse would prefer a ref that happens to be named like the prefix,
        # so list the objects with this prefix and keep the commits.
        found = self._git("rev-parse", f"--disambiguate={rev}", check=False)
        candidates = found.stdout.decode("ascii", errors="replace").split()
        if found.returncode != 0 or not candidates:
            raise RevisionNotFound()
        checked = self._git("cat-file", "--batch-check=%(objectname) %(objecttype)",
                            input="".join(f"{c}\n" for c in candidates).encode())
        commits = [line.split()[0] for line in checked.stdout.decode().splitlines()
                   if line.endswith(" commit")]
        if len(commits) != 1:
            raise RevisionNotFound("This revision is ambiguous." if commits else "")
        self._remember_commit(commits[0])
        return commits[0]

    def _commit_or_head(self, rev: str | None) -> str | None:
        if rev is None:
            return self.head()
        return self.resolve(rev)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        a, d = self.resolve(ancestor), self.resolve(descendant)
        result = self._git("merge-base", "--is-ancestor", a, d, check=False)
        if result.returncode in (0, 1):
            return result.returncode == 0
        raise GitError(["merge-base", "--is-ancestor"], result.returncode, _text(result.stderr))

    # -- reading -----------------------------------------------------------------------

    def tree(self, rev: str | None = None) -> dict[str, str]:
        """path -> blob id of every regular file at `rev` (default: head); {} when empty.

        Symlinks and submodules are left out: they are never pages or attachments.
        """
        commit = self._commit_or_head(rev)
        if commit is None:
            return {}
        return dict(self._tree(commit))

    def _tree(self, commit: str) -> dict[str, str]:
        # Commits are immutable, so a tree listing can be kept for as long as memory allows.
        with self._cache_lock:
            cached = self._trees.get(commit)
            if cached is not None:
                self._trees.move_to_end(commit)
                return cached
        out = self._git("ls-tree", "-r", "-z", "--full-tree", commit).stdout
        files: dict[str, str] = {}
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, _, name = entry.partition(b"\t")
            mode, kind, oid = meta.split(b" ")
            if kind == b"blob" and mode.decode() in _FILE_MODES:
                files[_path_str(name)] = oid.decode()
        self._cache_tree(commit, files)
        return files

    def _cache_tree(self, commit: str, files: dict[str, str]) -> None:
        with self._cache_lock:
            self._trees[commit] = files
            self._trees.move_to_end(commit)
            while len(self._trees) > 3:
                self._trees.popitem(last=False)

    def blob_id(self, rev: str, path: str) -> str | None:
        """The blob id of the regular file `path` at `rev`, None when there is none."""
        commit = self.resolve(rev)
        check_path(path)
        with self._cache_lock:
            cached = self._trees.get(commit)
        if cached is None and commit == self.head() and self._root_tree(commit) is None:
            cached = self._tree(commit)
        if cached is not None:
            return cached.get(path)
        walked = self._entry_at(commit, path)
        if walked is not False:
            if walked is None or walked[0] not in _FILE_MODES:
                return None
            return walked[1]
        entries = self._ls(commit, [path])
        entry = entries.get(path)
        if entry is None or entry[1] != "blob" or entry[0] not in _FILE_MODES:
            return None
        return entry[2]

    def _ls(self, commit: str, names: Sequence[str]) -> dict[str, tuple[str, str, str]]:
        """path -> (mode, type, id) for those of `names` that exist at `commit`."""
        out = self._git("ls-tree", "-z", "--full-tree", commit, "--",
                        *[_path_bytes(n) for n in names]).stdout
        found = {}
        for entry in out.split(b"\0"):
            if entry:
                meta, _, name = entry.partition(b"\t")
                mode, kind, oid = meta.decode().split(" ")
                found[_path_str(name)] = (mode, kind, oid)
        return found

    def read_blob(self, blob_id: str) -> bytes:
        if not isinstance(blob_id, str) or not _FULL_ID.fullmatch(blob_id):
            raise InvalidRevision("A blob id must be a full hex object id.")
        data = self._cached_blob(blob_id)
        if data is not None:
            return data
        result = self._git("cat-file", "blob", blob_id, check=False)
        if result.returncode != 0:
            raise PageNotFound()
        return result.stdout

    def read(self, rev: str, path: str) -> tuple[str, bytes]:
        """(blob id, data) of `path` at `rev`; PageNotFound when it is not a file there."""
        oid = self.blob_id(rev, path)
        if oid is None:
            raise PageNotFound()
        return oid, self.read_blob(oid)

    def read_many(self, blob_ids: list[str]) -> dict[str, bytes]:
        """Many blobs through one `cat-file --batch`; ids that are not blobs are left out."""
        wanted = list(dict.fromkeys(blob_ids))
        for oid in wanted:
            if not isinstance(oid, str) or not _FULL_ID.fullmatch(oid):
                raise InvalidRevision("A blob id must be a full hex object id.")
        blobs: dict[str, bytes] = {}
        if len(wanted) <= BATCH_FROM_GIT:  # a rebuild's thousands: one git process is faster
            for oid in wanted:
                data = self._cached_blob(oid)
                if data is not None:
                    blobs[oid] = data
            wanted = [oid for oid in wanted if oid not in blobs]
        if not wanted:
            return blobs
        out = self._git("cat-file", "--batch",
                        input="".join(f"{oid}\n" for oid in wanted).encode(),
                        timeout=max(GIT_TIMEOUT, len(wanted) / 100)).stdout
        pos = 0
        for oid in wanted:
            end = out.index(b"\n", pos)
            fields = out[pos:end].split(b" ")
            pos = end + 1
            if len(fields) == 3:  # "<id> <type> <size>", else "<id> missing"
                size = int(fields[2])
                if fields[1] == b"blob":
                    blobs[oid] = out[pos:pos + size]
                pos += size + 1
        return blobs

    def sizes(self, blob_ids: list[str]) -> dict[str, int]:
        """Sizes in bytes of many blobs through one `cat-file --batch-check` (attachment
        lists), without reading their data; ids that are not blobs are left out."""
        wanted = list(dict.fromkeys(blob_ids))
        for oid in wanted:
            if not isinstance(oid, str) or not _FULL_ID.fullmatch(oid):
                raise InvalidRevision("A blob id must be a full hex object id.")
        if not wanted:
            return {}
        out = self._git("cat-file", "--batch-check",
                        input="".join(f"{oid}\n" for oid in wanted).encode()).stdout
        found = {}
        for line in out.decode("ascii", errors="replace").splitlines():
            fields = line.split(" ")
            if len(fields) == 3 and fields[1] == "blob":
                found[fields[0]] = int(fields[2])
        return found

    # -- history -----------------------------------------------------------------------

    def log(self, since: str | None, until: str | None = None, paths: Sequence[str] = (),
            with_changes: bool = True, limit: int | None = None,
            reverse: bool = False) -> list[CommitInfo]:
        """Commits in since..until (until: head), newest first; `reverse`: oldest first.

        With `limit` and `reverse` together these are the *oldest* `limit` commits, so a
        caller can walk a long range in batches.
        """
        end = self._commit_or_head(until)
        if end is None or (limit is not None and limit <= 0):
            return []
        start = self.resolve(since) if since is not None else None
        for p in paths:
            check_path(p)
        revs = [end] + ([f"^{start}"] if start else [])
        pathspec = ["--", *[_path_bytes(p) for p in paths]] if paths else []
        if reverse and limit is not None:
            listed = self._git("rev-list", "--reverse", *revs, *pathspec).stdout.split()
            chosen = [c.decode() for c in listed[:limit]]
            if not chosen:
                return []
            return self._log_walk(["--no-walk=unsorted", *chosen], pathspec, with_changes)
        options = [f"-n{int(limit)}"] if limit is not None else []
        if reverse:
            options.append("--reverse")
        return self._log_walk([*options, *revs], pathspec, with_changes)

    def commit_info(self, rev: str) -> CommitInfo:
        commit = self.resolve(rev)
        return self._log_walk(["--no-walk", commit], [], True)[0]

    def _log_walk(self, revs: Sequence[str], pathspec: Sequence[str | bytes],
                  with_changes: bool) -> list[CommitInfo]:
        diff = ["--name-status", "-M", "--diff-merges=first-parent", "--root"] \
            if with_changes else []
        out = self._git(
            "log", "-z", "--no-color", "--no-decorate", "--no-mailmap", "--no-show-signature",
            "--format=%x01%H%x00%P%x00%an%x00%ae%x00%at%x00%B", *diff, *revs, *pathspec,
        ).stdout
        return _parse_log(out)

    def blame(self, rev: str, path: str) -> list[BlameLine]:
        commit = self.resolve(rev)
        check_path(path)
        result = self._git("blame", "--porcelain", commit, "--", _path_bytes(path),
                           check=False)
        if result.returncode != 0:
            if self.blob_id(commit, path) is None:
                raise PageNotFound()
            raise GitError(["blame"], result.returncode, _text(result.stderr))
        return _parse_blame(result.stdout)

    # -- merging -----------------------------------------------------------------------

    def merge3(self, base: str, ours: str, theirs: str,
               labels: Sequence[str] = ("yours", "base", "theirs"), *,
               diff3: bool = False) -> tuple[str, bool]:
        """3-way line merge of three texts: (merged text, had conflicts).

        Conflicts are marked with `labels` (ours, base, theirs); `diff3` also shows the base.
        """
        clean_labels = [re.sub(r"[\x00-\x1f]", " ", label) for label in labels]
        with tempfile.TemporaryDirectory(prefix="kennis-merge-") as tmp:
            files = []
            for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
                file = Path(tmp) / name
                file.write_bytes(text.encode("utf-8"))
                files.append(str(file))
            args = ["merge-file", "-p"] + (["--diff3"] if diff3 else [])
            for label in clean_labels:
                args += ["-L", label]
            result = self._git(*args, "--", *files, check=False)
        if result.returncode < 0 or result.returncode > 127:
            raise GitError(["merge-file"], result.returncode, _text(result.stderr))
        return result.stdout.decode("utf-8", errors="surrogateescape"), result.returncode > 0

    # -- writing -----------------------------------------------------------------------

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold the repository's one write lock (flock: a dead holder releases it).

        Threads of one process queue on a thread lock first, so only one of them polls the
        flock: ten threads polling with growing sleeps left some waiting seconds behind
        later arrivals (10 concurrent saves: p95 2.7 s for 0.4 s of work).
        """
        if getattr(self._local, "fd", None) is not None:
            raise RuntimeError("write_lock() is not reentrant")
        deadline = time.monotonic() + self.lock_timeout
        if not self._writer.acquire(timeout=self.lock_timeout):
            raise RepositoryBusy()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                delay = 0.001
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except OSError as exc:
                        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                            raise
                    if time.monotonic() >= deadline:
                        raise RepositoryBusy()
                    time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                    delay = min(delay * 2, 0.01)  # a save holds it for tens of ms
                self._local.fd = fd
                try:
                    yield
                finally:
                    self._local.fd = None
            finally:
                os.close(fd)  # closing the last fd releases the flock
        finally:
            self._writer.release()

    def commit(self, changes: Sequence[Write | Delete], message: str, author: Author,
               parent: str | None) -> str:
        """Make one commit of `changes` on top of `parent` and move the branch to it.

        `parent` is the head the caller based its work on (None: the branch must not exist
        yet). HeadMoved when the branch is elsewhere now, NothingToCommit when nothing would
        change, PageNotFound when deleting a missing file. Returns the new commit id.
        """
        writes: dict[str, bytes] = {}
        deletes: set[str] = set()
        for change in changes:
            path = check_path(change.path)
            if path in writes or path in deletes:
                raise InvalidInput(f"{path} is changed twice in one commit.")
            if isinstance(change, Write):
                if not isinstance(change.data, bytes):
                    raise InvalidInput("File contents must be bytes.")
                writes[path] = change.data
            elif isinstance(change, Delete):
                deletes.add(path)
            else:
                raise TypeError(f"not a change: {change!r}")
        if not changes:
            raise NothingToCommit()
        if parent is not None:
            parent = validate_revision(parent)
            if parent == "HEAD":
                raise InvalidRevision("A commit needs the id of the commit it is based on.")
            if not _FULL_ID.fullmatch(parent):
                parent = self.resolve(parent)

        # Only the folders above the changed files are read and rewritten, so the cost of a
        # save does not grow with the size of the wiki: with a private index, read-tree +
        # update-index + write-tree of 10,000 files alone took ~50 ms of a ~60 ms save.
        folders = _Folders(self, parent, writes, deletes)
        algorithm = folders.algorithm
        blob_ids = {p: _object_id(algorithm, b"blob", data) for p, data in writes.items()}
        trees = folders.apply(blob_ids)  # every refusal happens before anything is written
        root = trees[-1][0]
        if root == folders.old_root:
            raise NothingToCommit()
        for path, oid in blob_ids.items():
            # One stored already (a rename, say) is only freshened; a packed one is written
            # loose again, which is harmless: the next gc keeps one copy.
            self._write_loose(b"blob", writes[path], oid)
            self._remember_blob(oid, writes[path])
        # The folders in the bytes computed above (`mktree` parses text and sorts: 80 ms for
        # a folder of 4,600 files). Like mktree, nothing refuses a name an earlier push
        # brought in, so one odd file does not make every later save in its folder fail.
        for oid, entries, raw in trees:
            self._write_loose(b"tree", raw, oid)
            self._remember_tree(oid, entries)

        name = _git_ident(author.name) or "Anonymous"
        email = _git_ident(author.email)
        when = int(time.time())
        offset = time.localtime(when).tm_gmtoff // 60  # git's: the local zone (TZ)
        zone = f"{'-' if offset < 0 else '+'}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
        ident = f"{name} <{email}> {when} {zone}".encode("utf-8", errors="replace")
        text = message.replace("\0", "").replace("\r\n", "\n").strip()
        body = (text + "\n").encode("utf-8", errors="replace") if text else b""
        data = (b"tree %s\n" % root.encode()
                + (b"parent %s\n" % parent.encode() if parent else b"")
                + b"author %s\ncommitter %s\n\n" % (ident, ident) + body)
        new = _object_id(algorithm, b"commit", data)
        self._write_loose(b"commit", data, new)
        self._remember_commit(new)
        self._remember_root(new, root)
        self._update_ref(new, parent, text)
        self._derive_tree(parent, new, blob_ids, deletes)
        if not (writes and deletes):  # a delete and a write may be a rename: `git log -M` knows
            old = {path for path in writes if folders.existed(path)}
            changes = sorted([FileChange("M" if p in old else "A", p) for p in writes]
                             + [FileChange("D", p) for p in deletes],
                             key=lambda c: _path_bytes(c.path))
            info = CommitInfo(id=new, parents=(parent,) if parent else (),
                              author=Author(_text(name.encode("utf-8", "replace")),
                                            _text(email.encode("utf-8", "replace"))),
                              date=_utc(when), message=_text(body).rstrip("\n"),
                              changes=tuple(changes))
            with self._cache_lock:
                self._made[new] = Committed(info, dict(blob_ids))
                while len(self._made) > MADE_COMMITS:
                    self._made.popitem(last=False)
        return new

    def blob_id_of(self, data: bytes) -> str:
        """The id git would give `data` as a blob in this repository (nothing is written)."""
        return _object_id(self.object_format(), b"blob", data)

    def object_format(self) -> str:
        """"sha1" or "sha256", the hash this repository names objects by."""
        try:
            config = (self.path / "config").read_text(errors="replace")
        except FileNotFoundError:
            return "sha1"
        return "sha256" if re.search(r"(?im)^\s*objectformat\s*=\s*sha256\s*$", config) \
            else "sha1"

    def _update_ref(self, new: str, parent: str | None, message: str) -> None:
        old = parent or "0" * len(new)
        reason = (message.splitlines() or ["commit"])[0][:200] or "commit"
        for _attempt in range(40):
            result = self._git("update-ref", "-m", reason, self.ref, new, old, check=False)
            if result.returncode == 0:
                return
            stderr = _text(result.stderr)
            if self.head() != parent:
                raise HeadMoved()
            if "File exists" not in stderr:
                raise GitError(["update-ref"], result.returncode, stderr)
            self._clear_stale_ref_lock()
            time.sleep(0.025)
        raise RepositoryBusy()

    def _clear_stale_ref_lock(self) -> None:
        lock = self.path / f"{self.ref}.lock"
        with contextlib.suppress(FileNotFoundError):
            if time.time() - lock.stat().st_mtime > STALE_REF_LOCK_SECONDS:
                lock.unlink()

    def _derive_tree(self, parent: str | None, new: str, writes: dict[str, str],
                     deletes: set[str]) -> None:
        """Keep the new head's listing warm without asking git, when the parent's is known."""
        with self._cache_lock:
            base = self._trees.get(parent) if parent else {}
        if base is None:
            return
        files = dict(base)
        for path in deletes:
            files.pop(path, None)
        files.update(writes)
        self._cache_tree(new, files)

    # -- checking ----------------------------------------------------------------------

    # --- plumbing for the push policy and the importer ------------------------------------

    def config_value(self, key: str) -> str:
        """The repository's setting `key` ("" when unset)."""
        result = self._git("config", "--get", key, check=False)
        return result.stdout.decode(errors="replace").strip()

    def listing(self, commit: str) -> dict[bytes, tuple[str, str]]:
        """Every file of a commit as git stores it: raw name -> (mode, object id). Unlike
        `tree()`, names that are not UTF-8 and symlinks or submodules are included."""
        out = self._git("ls-tree", "-r", "-z", "--full-tree", "--", self._oid(commit)).stdout
        files = {}
        for item in out.split(b"\0"):
            if item:
                meta, _, name = item.partition(b"\t")
                mode, _kind, oid = meta.decode("ascii").split(" ")
                files[name] = (mode, oid)
        return files

    def new_changes(self, tip: str) -> list[Entry]:
        """Every path changed by the commits reachable from `tip` and from no ref yet (the
        commits a push brings), each with its new side. For a merge only what differs from
        every parent counts (`diff-tree -c`), so a `git pull` merge does not count the
        colleague's changes as the merger's."""
        commits = self._git("rev-list", self._oid(tip), "--not", "--all").stdout
        if not commits.strip():
            return []
        out = self._git("diff-tree", "-r", "-z", "--raw", "-c", "--no-renames", "--root",
                        "--no-commit-id", "--stdin", input=commits).stdout
        return _parse_raw(out)

    def diff_entries(self, old: str, new: str) -> list[Entry]:
        """The net change from commit `old` to commit `new`, each path with its new side."""
        out = self._git("diff-tree", "-r", "-z", "--raw", "--no-renames",
                        self._oid(old), self._oid(new)).stdout
        return _parse_raw(out)

    def fetch_default_branch(self, source: str, ref: str, timeout: float) -> str | None:
        """Copy the default branch of the repository at `source` (a URL or folder the caller
        checked) into `ref` here; its commit id, or None when it has no commits."""
        env = {"GIT_ALLOW_PROTOCOL": "http:https:file", "GIT_TERMINAL_PROMPT": "0"}
        with tempfile.TemporaryDirectory(prefix="kennis-import-") as tmp:
            mirror = str(Path(tmp) / "source.git")
            # A clone first: it follows the source's HEAD to its default branch, and
            # --no-local copies objects through git's transport instead of hard-linking a
            # folder we do not control. No submodules, no hooks, no checkout.
            self._git("clone", "--bare", "--no-local", "--no-tags", "--quiet", "--", source,
                      mirror, env={**env, "GIT_DIR": mirror}, timeout=timeout)
            self._git("fetch", "--no-tags", "--quiet", "--", mirror, f"+HEAD:{ref}",
                      env=env, timeout=timeout)
        found = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}",
                          check=False).stdout.decode().strip()
        return found if _FULL_ID.fullmatch(found) else None

    def first_parent_line(self, tip: str) -> list[str]:
        """The commits from the first one to `tip` along first parents, oldest first."""
        return self._git("rev-list", "--reverse", "--first-parent",
                         self._oid(tip)).stdout.decode().split()

    def write_listing(self, entries: dict[bytes, tuple[str, str]]) -> str:
        """A tree of these files (raw name -> (mode, object id) of objects already stored),
        built by git from a throw-away index; its id."""
        with tempfile.TemporaryDirectory(prefix="kennis-tree-") as tmp:
            env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
            self._git("read-tree", "--empty", env=env)
            lines = b"".join(b"%s %s\t%s\0" % (mode.encode(), oid.encode(), raw)
                             for raw, (mode, oid) in entries.items())
            if lines:
                self._git("update-index", "-z", "--index-info", input=lines, env=env)
            return self._git("write-tree", env=env).stdout.decode().strip()

    def copy_commit(self, commit: str, tree: str, parent: str | None) -> str:
        """A commit of `tree` on `parent` with the message, authors and dates of `commit`."""
        fmt = "%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd%x00%B"
        meta = self._git("show", "-s", "--date=raw", f"--format={fmt}",
                         self._oid(commit)).stdout
        an, ae, ad, cn, ce, cd, message = meta.split(b"\0", 6)
        env = {"GIT_AUTHOR_NAME": an.decode("utf-8", "replace") or "Unknown",
               "GIT_AUTHOR_EMAIL": ae.decode("utf-8", "replace"),
               "GIT_AUTHOR_DATE": ad.decode(),
               "GIT_COMMITTER_NAME": cn.decode("utf-8", "replace") or "Unknown",
               "GIT_COMMITTER_EMAIL": ce.decode("utf-8", "replace"),
               "GIT_COMMITTER_DATE": cd.decode()}
        env = {k: v.replace("\0", "") for k, v in env.items()}
        args = ["commit-tree", self._oid(tree)] + (["-p", self._oid(parent)] if parent else [])
        return self._git(*args, input=message.rstrip(b"\n") + b"\n",
                         env=env).stdout.decode().strip()

    def set_branch(self, new: str, old: str | None, message: str) -> None:
        """Move the wiki's branch from `old` (None: it must not exist) to `new`, or fail."""
        zero = "0" * len(new)
        self._git("update-ref", "-m", message, self.ref, self._oid(new), old or zero)

    def delete_ref(self, ref: str) -> None:
        self._git("update-ref", "-d", ref, check=False)

    @staticmethod
    def _oid(value: str) -> str:
        """A full object id, checked: nothing else may reach git as a revision here."""
        if not _FULL_ID.fullmatch(value or ""):
            raise GitError(["git"], None, f"not an object id: {value!r}")
        return value

    def fsck(self) -> tuple[bool, str]:
        """(healthy, report). Not --strict: receive.fsckObjects already checks every push
        strictly, and strict mode fails on harmless legacy modes in imported history.
        Dangling objects (left by a save that lost a race) are normal and not reported."""
        result = self._git("fsck", "--no-progress", "--no-dangling", check=False,
                           timeout=max(GIT_TIMEOUT, 600))
        report = (_text(result.stdout) + _text(result.stderr)).strip()
        return result.returncode == 0, report

    # --- plumbing for merging a push that is behind (wiki/gitserve.py, wiki/pushpolicy.py) -

    def merge_base(self, one: str, other: str) -> str | None:
        """The best common ancestor of two commits, None when their histories are unrelated."""
        result = self._git("merge-base", self._oid(one), self._oid(other), check=False)
        if result.returncode == 1:
            return None
        if result.returncode != 0:
            raise GitError(["merge-base"], result.returncode, _text(result.stderr))
        return self._oid(result.stdout.decode("ascii", errors="replace").strip())

    def merge_trees(self, ours: str, theirs: str) -> tuple[str, list[bytes]]:
        """git's own 3-way merge of two commits' whole trees (`merge-tree --write-tree`, the
        ort strategy: line merges like `git merge-file`, plus renames, add/add and
        modify/delete): (the merged tree's id, the raw paths in conflict). The merged tree
        and its blobs are written; nothing refers to them until a commit does."""
        result = self._git("merge-tree", "--write-tree", "--name-only", "--no-messages", "-z",
                           self._oid(ours), self._oid(theirs), check=False)
        if result.returncode not in (0, 1):
            raise GitError(["merge-tree"], result.returncode, _text(result.stderr))
        tree, *paths = result.stdout.split(b"\0")
        conflicts = list(dict.fromkeys(p for p in paths if p))
        if result.returncode == 1 and not conflicts:
            raise GitError(["merge-tree"], 1, "conflicts reported without paths")
        return self._oid(tree.decode("ascii", errors="replace").strip()), conflicts

    def commit_tree(self, tree: str, parents: Sequence[str], message: str,
                    author: Author) -> str:
        """A commit of `tree` with these parents, by `author` (also its committer), on no
        branch yet; its id."""
        name = _clean_ident(author.name) or "Anonymous"
        email = _clean_ident(author.email)
        ident = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
                 "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
        args = ["commit-tree", self._oid(tree)]
        for parent in parents:
            args += ["-p", self._oid(parent)]
        text = message.replace("\0", "").replace("\r\n", "\n").strip() + "\n"
        new = self._git(*args, input=text.encode("utf-8", errors="replace"), env=ident)
        commit = self._oid(new.stdout.decode("ascii", errors="replace").strip())
        self._remember_commit(commit)
        return commit

    def ref_value(self, ref: str) -> str | None:
        """The commit a ref (a full name under refs/, checked) points to; None when missing."""
        result = self._git("rev-parse", "--verify", "--quiet", f"{self._ref(ref)}^{{commit}}",
                           check=False)
        value = result.stdout.decode("ascii", errors="replace").strip()
        return value if result.returncode == 0 and _FULL_ID.fullmatch(value) else None

    def history_sample(self, tip: str, dense: int = 64, scan: int = 5_000) -> list[str]:
        """Commits on `tip`'s first-parent line: the newest `dense`, then ever sparser (gaps
        doubling) back to the `scan`-th. Whoever has any commit of that line has a sampled
        one at most about twice as far back. `scan` bounds the cost (5,000 commits: ~80 ms
        without a commit-graph file; 20,000: ~650 ms)."""
        line = self._git("rev-list", "--first-parent", f"--max-count={int(scan)}",
                         self._oid(tip)).stdout.decode("ascii").split()
        chosen = line[:dense]
        index, gap = dense - 1, 2
        while index + gap < len(line):
            index += gap
            gap *= 2
            chosen.append(line[index])
        if line and line[-1] not in chosen:
            chosen.append(line[-1])
        return chosen

    @staticmethod
    def _ref(ref: str) -> str:
        """A full ref name we built ourselves, checked anyway: never an option or a pattern."""
        if not re.fullmatch(r"refs/[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)+",
                            ref or "") or ".." in ref or ref.endswith(".lock"):
            raise GitError(["git"], None, f"not a ref name: {ref!r}")
        return ref

def _parse_raw(out: bytes) -> list[Entry]:
    """`diff-tree -r -z --raw [-c] [--stdin]` output (without commit ids): the new side of
    every changed path."""
    tokens = out.split(b"\0")
    found: list[Entry] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith(b":"):
            parents = len(token) - len(token.lstrip(b":"))
            fields = token.lstrip(b":").decode("ascii").split(" ")
            found.append(Entry(tokens[i + 1], fields[parents], fields[2 * parents + 1]))
            i += 2
        else:
            i += 1
    return found


def _printable(command: Sequence[str | bytes]) -> list[str]:
    return [_text(a) if isinstance(a, bytes) else a for a in command]


def _parse_log(out: bytes) -> list[CommitInfo]:
    # -z output: "\x01" id NUL parents NUL name NUL email NUL time NUL message, then
    # NUL-separated name-status entries ("R100" NUL old NUL new). Fields are taken by
    # position; only a status token is ever inspected, and none starts with "\x01".
    tokens = out.split(b"\0")
    commits: list[CommitInfo] = []
    header: list[bytes] | None = None
    changes: list[FileChange] = []

    def finish() -> None:
        if header is not None:
            oid, parents, name, email, when, message = header
            commits.append(CommitInfo(
                id=oid[1:].decode(), parents=tuple(parents.decode().split()),
                author=Author(_text(name), _text(email)), date=_utc(when),
                message=_text(message).rstrip("\n"), changes=tuple(changes)))

    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip(b"\n")
        if not token:
            i += 1
        elif token.startswith(b"\x01"):
            finish()
            header = [token, *tokens[i + 1:i + 6]]
            changes = []
            i += 6
        elif token[:1] in (b"R", b"C"):
            old, new = _path_str(tokens[i + 1]), _path_str(tokens[i + 2])
            changes.append(FileChange("R", new, old) if token[:1] == b"R"
                           else FileChange("A", new))
            i += 3
        else:
            status = {b"T": "M"}.get(token[:1], token[:1].decode())
            changes.append(FileChange(status, _path_str(tokens[i + 1])))
            i += 2
    finish()
    return commits


def _parse_blame(out: bytes) -> list[BlameLine]:
    lines: list[BlameLine] = []
    info: dict[str, dict[bytes, bytes]] = {}
    current: dict[bytes, bytes] = {}
    revision = ""
    line_no = 0
    for raw in out.split(b"\n"):
        if raw.startswith(b"\t"):
            lines.append(BlameLine(
                revision=revision,
                author=Author(_text(current.get(b"author", b"")),
                              _text(current.get(b"author-mail", b"")).strip("<>")),
                date=_utc(current.get(b"author-time", b"0")),
                line_no=line_no, text=_text(raw[1:])))
            continue
        key, _, value = raw.partition(b" ")
        if _FULL_ID.fullmatch(key.decode("ascii", errors="replace")):
            revision = key.decode()
            line_no = int(value.split(b" ")[1])
            current = info.setdefault(revision, {})
        elif raw:
            current[key] = value
    return lines


_TREE_MODE = 0o40000
_TREE_MODES = {"40000", "040000"}
_GITLINK_MODE = 0o160000


def _object_id(algorithm: str, kind: bytes, data: bytes) -> str:
    """The id git gives an object (the same hash `git hash-object` computes)."""
    digest = hashlib.new(algorithm)
    digest.update(kind + b" %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def _is_tree(mode: str) -> bool:
    return int(mode, 8) == _TREE_MODE


def _sort_key(name: bytes, mode: str) -> bytes:
    return name + b"/" if mode in _TREE_MODES else name


def _record(name: bytes, mode: str, oid: str) -> bytes:
    return b"%o %s\0%s" % (int(mode, 8), name, bytes.fromhex(oid))


def _parse_tree(data: bytes, id_bytes: int) -> dict[bytes, tuple[str, str]]:
    entries = {}
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        mode = data[pos:space].decode()
        entries[data[space + 1:nul]] = (mode, data[nul + 1:nul + 1 + id_bytes].hex())
        pos = nul + 1 + id_bytes
    return entries


def _split(path: str) -> tuple[str, bytes]:
    folder, _, name = path.rpartition("/")
    return folder, _path_bytes(name)


class _Folders:
    """The folders above the files a commit changes: read from the parent, then rebuilt."""

    def __init__(self, repo: Repository, parent: str | None, writes: dict[str, bytes],
                 deletes: set[str]):
        self.writes = writes
        self.deletes = deletes
        self.names = {""} | {"/".join(p.split("/")[:i]) for p in (*writes, *deletes)
                             for i in range(1, p.count("/") + 1)}
        self.folders: dict[str, dict[bytes, tuple[str, str]]] = {n: {} for n in self.names}
        self.old_root: str | None = None
        self.algorithm = repo.object_format()
        self.repo = repo
        self.loaded: dict[str, str] = {}  # folder -> the id of its tree in the parent
        self.touched: dict[str, set[bytes]] = {n: set() for n in self.names}
        self._existed: set[str] = set()
        if parent is not None:
            self._load(repo, parent)

    def _load(self, repo: Repository, parent: str) -> None:
        if not self._load_cached(repo, parent):
            self._load_from_git(repo, parent)

    def _load_cached(self, repo: Repository, parent: str) -> bool:
        """The folders from memory and loose objects, no git process; False if one is packed."""
        root = repo._root_tree(parent)
        if root is None:
            return False
        found: dict[str, dict[bytes, tuple[str, str]]] = {}
        for name in sorted(self.names):  # a folder sorts before what it holds
            if name == "":
                entries = repo._cached_tree(root)
            else:
                above, _, leaf = name.rpartition("/")
                entry = found.get(above, {}).get(_path_bytes(leaf))
                if entry is None or not _is_tree(entry[0]):
                    continue  # a missing folder, or a file where a folder is needed (see apply)
                entries = repo._cached_tree(entry[1])
            if entries is None:
                return False
            found[name] = entries
        self.old_root = root
        self.algorithm = "sha256" if len(root) == 64 else "sha1"
        for name, entries in found.items():
            self.folders[name] = dict(entries)
        self.loaded = {name: (root if name == "" else found[name.rpartition("/")[0]]
                              [_path_bytes(name.rpartition("/")[2])][1]) for name in found}
        return True

    def _load_from_git(self, repo: Repository, parent: str) -> None:
        order = sorted(self.names)
        lines = [f"{parent}^{{commit}}^{{tree}}\n".encode()]
        lines += [f"{parent}:".encode() + _path_bytes(n) + b"\n" for n in order[1:]]
        out = repo._git("cat-file", "--batch", input=b"".join(lines)).stdout
        pos = 0
        for number, name in enumerate(order):
            end = out.index(b"\n", pos)
            fields = out[pos:end].split(b" ")
            pos = end + 1
            found = (len(fields) == 3 and _FULL_ID.fullmatch(fields[0].decode("ascii", "replace"))
                     and fields[2].isdigit())
            if not found:
                if number == 0:
                    raise RevisionNotFound()
                continue
            size = int(fields[2])
            data = out[pos:pos + size]
            pos += size + 1
            if number == 0:
                self.old_root = fields[0].decode()
                self.algorithm = "sha256" if len(self.old_root) == 64 else "sha1"
                repo._remember_root(parent, self.old_root)
            if fields[1] == b"tree":
                entries = _parse_tree(data, len(fields[0]) // 2)
                repo._remember_tree(fields[0].decode(), entries)
                self.folders[name] = dict(entries)
                self.loaded[name] = fields[0].decode()
            # A file where a folder is needed is caught when the folder above is rebuilt.

    def existed(self, path: str) -> bool:
        """Whether the parent had a file at `path` (known after `apply`)."""
        return path in self._existed

    def apply(self, blob_ids: dict[str, str]
              ) -> list[tuple[str, dict[bytes, tuple[str, str]], bytes]]:
        """The new trees, each (id, entries, bytes), children before parents, the root last."""
        self._existed = {p for p in blob_ids if _split(p)[1] in self.folders[_split(p)[0]]}
        for path in sorted(self.deletes):
            folder, name = _split(path)
            entry = self.folders[folder].get(name)
            if entry is None or int(entry[0], 8) in (_TREE_MODE, _GITLINK_MODE):
                raise PageNotFound(f"{path} does not exist.")
            del self.folders[folder][name]
            self.touched[folder].add(name)
        for path, oid in blob_ids.items():
            folder, name = _split(path)
            self.touched[folder].add(name)
            entry = self.folders[folder].get(name)
            if entry is not None and _is_tree(entry[0]):
                raise InvalidPath(f"{path} is a folder.")
            self.folders[folder][name] = (FILE_MODE, oid)
        trees = []
        for path in sorted(self.names - {""}, key=lambda n: -n.count("/")):
            entries = self.folders[path]
            folder, name = _split(path)
            above = self.folders[folder]
            if name in above and not _is_tree(above[name][0]):
                # update-index or mktree would silently drop that file to make room.
                raise InvalidPath(f"{path} is a file, so it cannot be a folder.")
            self.touched[folder].add(name)
            if not entries:
                above.pop(name, None)  # a folder disappears with its last file
                continue
            oid, raw = self._serialize(path, entries)
            above[name] = ("40000", oid)
            trees.append((oid, entries, raw))
        oid, raw = self._serialize("", self.folders[""])
        trees.append((oid, self.folders[""], raw))
        return trees

    def _serialize(self, folder: str, entries: dict[bytes, tuple[str, str]]) -> tuple[str, bytes]:
        """(id, bytes) of a folder's new tree. From the parent's tree only the touched names
        are redone: formatting and sorting 4,600 entries anew took most of a save."""
        base = self.repo._tree_records(self.loaded.get(folder))
        if base is None:
            records = {_sort_key(n, m): _record(n, m, o) for n, (m, o) in entries.items()}
            keys = sorted(records)
        else:
            records, keys = dict(base[0]), base[1]
            before, after = set(), set()
            for name in self.touched[folder]:
                for key in (name, name + b"/"):
                    if records.pop(key, None) is not None:
                        before.add(key)
                entry = entries.get(name)
                if entry is not None:
                    key = _sort_key(name, entry[0])
                    records[key] = _record(name, *entry)
                    after.add(key)
            if before != after:
                keys = sorted(records)
        raw = b"".join([records[k] for k in keys])
        oid = _object_id(self.algorithm, b"tree", raw)
        self.repo._remember_records(oid, records, keys)
        return oid, raw
