"""One-file backups of a wiki, taken while it runs, and their restore into an empty home.

An archive is a tar file with:

- `manifest.json`: format, Kennis version, time, the branch head when the backup started, and
  the size and SHA-256 of every other member (a damaged archive is refused before anything is
  written);
- `wiki.bundle`: every ref of the repository as one git bundle;
- `wiki.db`: the SQLite database copied with SQLite's online backup API, which reads one
  consistent snapshot while other processes keep writing (a plain file copy of a database in
  WAL mode can miss the log or tear a page);
- `secret_key` and `wiki.toml` (when present) from the instance folder.

Order matters: the database is copied first and the repository after it, so every commit the
database names is in the bundle; commits that land in between are kept too. Search index,
catalog and caches are derived data: the restore rebuilds them from git.
"""

import hashlib
import json
import os
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from wiki import __version__, config
from wiki.errors import WikiError
from wiki.repo import Repository

FORMAT = 1
MANIFEST = "manifest.json"
BUNDLE = "wiki.bundle"
DATABASE = "wiki.db"
INSTANCE_FILES = ("secret_key", "wiki.toml")


class BackupError(WikiError):
    """A backup could not be written or an archive cannot be restored; `message` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Manifest:
    format: int
    version: str
    created: str
    head: str | None
    files: dict[str, dict]


def _sqlite_path(settings: config.Settings) -> Path:
    url = settings.db_url
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        raise BackupError("wiki backup copies the SQLite database; for PostgreSQL, back up "
                          "the database with pg_dump next to this archive (see the README).")
    return Path(url.removeprefix("sqlite:///"))


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def create(settings: config.Settings, target: Path, force: bool = False) -> Manifest:
    """Write a backup of the wiki of `settings` to `target` (refused if it exists, unless
    `force`). The file appears only when complete."""
    target = Path(target)
    if target.exists() and not force:
        raise BackupError(f"{target} exists; choose another name or pass --force.")
    repo = Repository(settings.repository, settings.branch)
    if not repo.exists():
        raise BackupError(f"no wiki repository at {settings.repository}.")
    database = _sqlite_path(settings)
    head = repo.head()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".kennis-backup-") as work:
        work = Path(work)
        _copy_sqlite(database, work / DATABASE)
        repo.bundle(work / BUNDLE)
        members = [DATABASE, BUNDLE]
        for name in INSTANCE_FILES:
            if (settings.instance / name).is_file():
                (work / name).write_bytes((settings.instance / name).read_bytes())
                members.append(name)
        manifest = Manifest(FORMAT, __version__, datetime.now(UTC).isoformat(), head,
                            {name: {"size": (work / name).stat().st_size,
                                    "sha256": _digest(work / name)} for name in members})
        (work / MANIFEST).write_text(json.dumps(manifest.__dict__, indent=2))
        partial = work / "archive.tar"
        with tarfile.open(partial, "w") as tar:
            for name in (MANIFEST, *members):
                tar.add(work / name, arcname=name)
        os.chmod(partial, 0o600)  # it holds the secret key and every password hash
        os.replace(partial, target)
    return manifest


def _copy_sqlite(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def restore(settings: config.Settings, archive: Path) -> Manifest:
    """Put the repository, database and instance files of `archive` into the empty home of
    `settings`. The caller then runs the migrations and rebuilds the derived data."""
    archive = Path(archive)
    _refuse_non_empty(settings)
    database = _sqlite_path(settings)
    with tempfile.TemporaryDirectory(prefix=".kennis-restore-") as work:
        work = Path(work)
        manifest = _unpack(archive, work)
        repo = Repository(settings.repository, settings.branch)
        try:
            repo.init()
            repo.unbundle(work / BUNDLE)
            settings.instance.mkdir(parents=True, exist_ok=True)
            database.parent.mkdir(parents=True, exist_ok=True)
            (work / DATABASE).replace(database)
            for name in INSTANCE_FILES:
                if name in manifest.files:
                    (work / name).replace(settings.instance / name)
                    os.chmod(settings.instance / name, 0o600)
        except Exception:
            _empty(settings)  # a half-restored wiki would look like a real one
            raise
    return manifest


def _unpack(archive: Path, work: Path) -> Manifest:
    """Extract and verify an archive; any damage raises BackupError before the home is
    touched."""
    try:
        with tarfile.open(archive, "r:") as tar:
            names = tar.getnames()
            if MANIFEST not in names:
                raise BackupError(f"{archive} is not a Kennis backup (no {MANIFEST}).")
            tar.extractall(work, filter="data")  # refuses links and paths outside `work`
        raw = json.loads((work / MANIFEST).read_text())
        manifest = Manifest(raw["format"], raw["version"], raw["created"], raw["head"],
                            raw["files"])
    except (OSError, tarfile.TarError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{archive} is damaged or not a Kennis backup ({exc}).") from exc
    if manifest.format > FORMAT:
        raise BackupError(f"{archive} was written by Kennis {manifest.version}, in a newer "
                          f"format than this Kennis {__version__} reads; upgrade first.")
    for name in (BUNDLE, DATABASE):
        if name not in manifest.files:
            raise BackupError(f"{archive} is damaged: {name} is missing.")
    for name, expected in manifest.files.items():
        path = work / name
        if (not path.is_file() or path.stat().st_size != expected["size"]
                or _digest(path) != expected["sha256"]):
            raise BackupError(f"{archive} is damaged: {name} does not match its checksum.")
    return manifest


def _refuse_non_empty(settings: config.Settings) -> None:
    for folder in (settings.content, settings.instance, settings.index):
        if folder.exists() and any(folder.iterdir()):
            raise BackupError(f"{folder} is not empty; restore into a new, empty wiki home.")


def _empty(settings: config.Settings) -> None:
    import shutil

    for folder in (settings.content, settings.instance):
        if folder.exists():
            shutil.rmtree(folder)
