"""The wiki's home folder: creating what is missing, the secret key and the starter pages."""

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from wiki import config

STARTER = Path(__file__).parent / "starter"


def ensure(settings: config.Settings) -> None:
    """Create the folders a wiki needs (cheap; safe to call at every start)."""
    for folder in (settings.content, settings.instance, settings.cache):
        folder.mkdir(parents=True, exist_ok=True)


def exists(settings: config.Settings) -> bool:
    """Whether a wiki lives here: its repository and, for the embedded database, its file."""
    from wiki.repo import Repository

    if not Repository(settings.repository).exists():
        return False
    url = settings.db_url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///")).is_file()
    return True


def secret_key(settings: config.Settings) -> str:
    """The secret key kept in `instance/secret_key`, generated on first use (mode 0600)."""
    path = settings.instance / "secret_key"
    if not path.exists():
        settings.instance.mkdir(parents=True, exist_ok=True)
        # A file of this process's own (mode 0600): a shared name could be truncated by
        # another worker after it became the key.
        fd, tmp = tempfile.mkstemp(dir=settings.instance, prefix=".secret_key-")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            # os.link fails if another worker created the key first; then we use theirs.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def starter_pages() -> dict[str, bytes]:
    """Repository path -> content of the pages a new wiki starts with."""
    return {str(p.relative_to(STARTER)): p.read_bytes()
            for p in sorted(STARTER.rglob("*.md"))}


def initialize(services, admin: str | None = None, password: str | None = None) -> list[str]:
    """Create whatever is missing; return what was done, in plain words. Safe to run twice."""
    from wiki.catalog import SYSTEM_AUTHOR, Change
    from wiki.repo import Write

    done = []
    settings = services.settings
    ensure(settings)
    secret_key(settings)
    if services.repo.init():
        done.append(f"created the repository {settings.repository}")
    from wiki import pushpolicy

    if pushpolicy.install(settings.repository):  # the push policy, for git access over HTTP
        done.append("installed the push policy hook")
    services.db.upgrade()
    if services.repo.head() is None:
        def starter(head) -> Change:  # nothing when someone else added them meanwhile
            files = [] if head else [Write(p, d) for p, d in starter_pages().items()]
            return Change(files, "Starter pages")

        if services.catalog.commit(starter, SYSTEM_AUTHOR):
            done.append("added the starter pages")
    services.catalog.catch_up()
    if admin and services.users.by_name(admin) is None:
        services.users.create(admin, password, role="admin")
        done.append(f"created the admin {admin}")
    return done
