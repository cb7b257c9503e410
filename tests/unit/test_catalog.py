"""The catch-up step: whatever moves the branch, the derived catalog follows (no Flask)."""

import pytest

from wiki.catalog import Catalog
from wiki.db import Database
from wiki.render import Renderer
from wiki.repo import Author, Delete, Repository, Write

ALICE = Author("Alice", "alice@example.org")
BOB = Author("Bob", "bob@example.org")


@pytest.fixture
def parts(tmp_path):
    repo = Repository(tmp_path / "wiki.git")
    repo.init()
    db = Database(f"sqlite:///{tmp_path / 'wiki.db'}")
    db.upgrade()
    catalog = Catalog(db, repo, Renderer(tmp_path / "cache"), lock_dir=tmp_path)
    yield repo, catalog
    db.dispose()


def commit(repo, changes, message="change", author=ALICE):
    return repo.commit(changes, message, author, parent=repo.head())


def test_many_commits_at_once_are_all_recorded(parts):
    repo, catalog = parts
    commit(repo, [Write("A.md", b"---\ntitle: Page A\ntags: [x]\n---\nSee [[B]].\n")], "one")
    commit(repo, [Write("B.md", b"# Bee\n")], "two", BOB)
    commit(repo, [Write("A.md", b"---\ntitle: Page A\n---\nno links\n")], "three", BOB)
    assert catalog.catch_up() == 3
    a = catalog.page("a")
    assert (a.name, a.title, a.author, a.tags) == ("A", "Page A", "Bob", ())
    assert [r.message for r in catalog.history("A")] == ["three", "one"]
    assert catalog.backlinks("B") == []
    assert catalog.page("B").title == "Bee"
    assert catalog.catch_up() == 0


def test_renames_carry_history_and_leave_a_redirect(parts):
    repo, catalog = parts
    commit(repo, [Write("Old.md", b"text\n")], "born")
    commit(repo, [Delete("Old.md"), Write("Team/New.md", b"text\n")], "moved")
    catalog.catch_up()
    assert catalog.page("Old") is None
    assert [r.action for r in catalog.history("Team/New")] == ["rename", "create"]
    assert catalog.renamed_to("old") == "Team/New"


def test_deleted_pages_keep_their_history(parts):
    repo, catalog = parts
    commit(repo, [Write("Gone.md", b"x\n")])
    commit(repo, [Delete("Gone.md")], "removed")
    catalog.catch_up()
    assert catalog.page("Gone") is None
    assert [r.action for r in catalog.history("Gone")] == ["delete", "create"]


def test_non_pages_are_ignored(parts):
    repo, catalog = parts
    commit(repo, [Write("picture.png", b"\x89PNG"), Write("Page.md", b"x\n")])
    catalog.catch_up()
    assert [p.name for p in catalog.pages()[1]] == ["Page"]


def test_rebuild_gives_the_same_catalog_and_check_finds_drift(parts):
    repo, catalog = parts
    for i in range(5):
        commit(repo, [Write(f"P{i}.md", f"[[P{i + 1}]]\n".encode())], f"c{i}")
    catalog.catch_up()
    before = [(p.name, p.revision) for p in catalog.pages()[1]]
    links = [p.name for p in catalog.backlinks("P3")]
    assert catalog.check() == []
    catalog.rebuild()
    assert [(p.name, p.revision) for p in catalog.pages()[1]] == before
    assert [p.name for p in catalog.backlinks("P3")] == links == ["P2"]
    commit(repo, [Write("P9.md", b"late\n")])
    assert any("run `wiki reindex`" in problem for problem in catalog.check())


def test_rewritten_history_triggers_a_full_rebuild(parts, tmp_path):
    repo, catalog = parts
    commit(repo, [Write("A.md", b"a\n")])
    catalog.catch_up()
    import subprocess

    # Point the branch at a new root commit (as after a history rewrite): not a descendant.
    tree = subprocess.run(["git", "--git-dir", str(repo.path), "mktree"], input=b"",
                          capture_output=True, check=True).stdout.decode().strip()
    root = subprocess.run(["git", "--git-dir", str(repo.path), "commit-tree", tree, "-m", "new"],
                          capture_output=True, check=True,
                          env={"GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x",
                               "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x",
                               "PATH": "/usr/bin:/bin"}).stdout.decode().strip()
    subprocess.run(["git", "--git-dir", str(repo.path), "update-ref", "refs/heads/main", root],
                   check=True)
    catalog.catch_up()
    assert catalog.page("A") is None and catalog.history("A") == []


def test_listeners_hear_what_changed(parts):
    repo, catalog = parts
    heard = []
    catalog.listeners.append(lambda changes, full: heard.append(
        sorted((c.key, c.name) for c in changes)))
    commit(repo, [Write("A.md", b"a\n"), Write("B.md", b"b\n")])
    catalog.catch_up()
    commit(repo, [Delete("B.md")])
    catalog.catch_up()
    assert heard == [[("a", "A"), ("b", "B")], [("b", None)]]
