"""A push cannot pass off commits as a colleague's (issue 12): history says who pushed a commit
authored by someone else, and `push_require_own_commits` refuses such pushes."""

import contextlib
import os
import subprocess
import time
from pathlib import Path

import requests

from tests.e2e.conftest import WIKI, run_wiki
from tests.e2e.test_git import PASSWORDS, GitWiki, _free_port, push, write

FORGED = "admin <admin@kennis.invalid>"  # the admin's own wiki address, as web edits carry it


@contextlib.contextmanager
def serve(tmp: Path, **settings: str):
    home = tmp / "home"
    home.mkdir()
    run_wiki(home, "init", "--admin", "admin", "--password-stdin",
             stdin=PASSWORDS["admin"] + "\n")
    run_wiki(home, "user", "add", "alice", "--role", "editor", "--email", "alice@example.org",
             "--password-stdin", stdin=PASSWORDS["alice"] + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIKI_")}
    (home / "run").mkdir(mode=0o700, exist_ok=True)
    env.update(XDG_RUNTIME_DIR=str(home / "run"), PYTHONUNBUFFERED="1")
    env.update({f"WIKI_{name.upper()}": value for name, value in settings.items()})
    port = _free_port()
    with open(tmp / "serve.log", "wb") as log:
        process = subprocess.Popen(
            [str(WIKI), "--home", str(home), "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", "1"], stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, env=env)
    wiki = GitWiki(home, f"http://127.0.0.1:{port}", process, tmp)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp / "serve.log").read_text()
            with contextlib.suppress(requests.RequestException):
                if requests.get(wiki.url + "/login", timeout=5).status_code == 200:
                    break
            assert time.monotonic() < deadline, (tmp / "serve.log").read_text()
            time.sleep(0.2)
        yield wiki
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def commit(wiki: GitWiki, clone: Path, path: str, text: str, author: str | None = None):
    write(clone, path, text)
    wiki.git("add", "-A", cwd=clone)
    wiki.git("commit", "--quiet", *(("--author", author) if author else ()), "-m",
             f"Edit {path}", cwd=clone)


def test_a_commit_authored_as_someone_else_shows_who_pushed_it(tmp_path):
    with serve(tmp_path) as wiki:
        clone = wiki.clone("alice")
        commit(wiki, clone, "Team/Forged.md", "# Forged\n", author=FORGED)
        # Ann Power <alice@example.org>: alice's own email, so alice's own commit.
        commit(wiki, clone, "Team/Own.md", "# Own\n", author="Ann Power <alice@example.org>")
        push(wiki, clone)
        forged = wiki.api("GET", "history/Team/Forged").json()["revisions"]
        assert [(r["author"], r["pushed_by"]) for r in forged] == [("admin", "alice")]
        own = wiki.api("GET", "history/Team/Own").json()["revisions"]
        assert [(r["author"], r["pushed_by"]) for r in own] == [("alice", None)]
        history = wiki.page("history/Team/Forged").text
        assert "admin (pushed by alice)" in history
        assert "admin (pushed by alice)" in wiki.page("recent").text
        page = wiki.page("wiki/Team/Forged").text
        assert "Last changed by admin (pushed by alice)" in page
        assert "Contributors: alice." in page  # the account behind the push
        assert "admin (pushed by alice)" in wiki.page("blame/Team/Forged").text


def test_with_the_setting_on_a_push_of_someone_elses_commit_is_refused(tmp_path):
    with serve(tmp_path, push_require_own_commits="1") as wiki:
        before = wiki.head()
        clone = wiki.clone("alice")
        commit(wiki, clone, "Team/Forged.md", "# Forged\n", author=FORGED)
        forged = wiki.git("rev-parse", "HEAD", cwd=clone).stdout.decode().strip()
        result = push(wiki, clone, check=False)
        assert result.returncode != 0
        message = result.stderr.decode(errors="replace")
        assert f"commit {forged[:10]} is authored by {FORGED}, not by alice" in message
        assert wiki.head() == before and wiki.fsck_ok()
        assert wiki.api("GET", "pages/Team/Forged").status_code == 404
        # Rewritten as her own (her account email), the same change goes in.
        wiki.git("commit", "--quiet", "--amend", "--no-edit", "--author",
                 "Alice <alice@example.org>", cwd=clone)
        push(wiki, clone)
        assert wiki.head() != before
        revisions = wiki.api("GET", "history/Team/Forged").json()["revisions"]
        assert [(r["author"], r["pushed_by"]) for r in revisions] == [("alice", None)]

