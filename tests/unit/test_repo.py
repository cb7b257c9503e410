"""wiki/repo.py on real bare repositories in tmp_path, checked with the git command line."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from wiki import repo as repo_module
from wiki.errors import (
    InvalidPath,
    InvalidRevision,
    PageNotFound,
    RepositoryBusy,
    RevisionNotFound,
)
from wiki.repo import (
    Author,
    Delete,
    FileChange,
    HeadMoved,
    NothingToCommit,
    Repository,
    Write,
)

ROOT = Path(__file__).resolve().parents[2]
ANN = Author("Ann Example", "ann@example.org")
BOB = Author("Bob Sample", "bob@example.org")


def git(repo: Repository, *args: str) -> str:
    env = {"PATH": os.environ["PATH"], "GIT_DIR": str(repo.path), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}
    return subprocess.run(["git", *args], env=env, capture_output=True, check=True,
                          text=True, timeout=60).stdout


@pytest.fixture
def repo(tmp_path):
    repository = Repository(tmp_path / "wiki.git")
    repository.init()
    return repository


def save(repo, changes, message="edit", author=ANN):
    return repo.commit(changes, message, author, repo.head())


def run_python(code: str, *args: str, tmp: Path | None = None) -> subprocess.Popen:
    # A killed worker leaves its temporary files behind; keep them inside tmp_path.
    extra = {"TMPDIR": str(tmp)} if tmp else {}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **extra},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def ref_locks(repo):
    return [p for p in repo.path.rglob("*.lock") if p.name != repo_module.LOCK_FILE]


# -- init ------------------------------------------------------------------------------

def test_init_creates_a_configured_bare_repository_once(tmp_path):
    repo = Repository(tmp_path / "content" / "wiki.git", branch="trunk")
    assert not repo.exists()
    assert repo.init() is True
    assert repo.init() is False
    assert repo.exists()
    assert git(repo, "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/trunk"
    for key, value in {"receive.fsckObjects": "true", "receive.denyDeletes": "true",
                       "receive.denyNonFastForwards": "true", "http.getanyfile": "false",
                       "http.receivepack": "true"}.items():
        assert git(repo, "config", "--get", key).strip() == value
    assert repo.head() is None
    assert repo.tree() == {}
    assert repo.log(None) == []


# -- commit and read -------------------------------------------------------------------

def test_commit_and_read_round_trip_with_author_in_git_log(repo):
    first = repo.commit([Write("Home.md", b"# Home\n"), Write("Team/Onboarding.md", b"hi\n")],
                        "Create pages\n\nWith a body.", ANN, None)
    assert repo.head() == first
    blob, data = repo.read(first, "Team/Onboarding.md")
    assert data == b"hi\n"
    assert repo.blob_id("HEAD", "Team/Onboarding.md") == blob
    assert repo.read_blob(blob) == b"hi\n"
    assert set(repo.tree()) == {"Home.md", "Team/Onboarding.md"}

    second = repo.commit([Write("Home.md", b"# Home\n\nv2\n")], "Edit", BOB, first)
    assert repo.read("HEAD", "Home.md")[1] == b"# Home\n\nv2\n"
    assert repo.read(first[:7], "Home.md")[1] == b"# Home\n"
    log = git(repo, "log", "--format=%H|%an|%ae|%cn|%ce|%s", "main").splitlines()
    assert log == [f"{second}|Bob Sample|bob@example.org|Bob Sample|bob@example.org|Edit",
                   f"{first}|Ann Example|ann@example.org|Ann Example|ann@example.org|"
                   "Create pages"]
    info = repo.commit_info(first)
    assert info.author == ANN and info.message == "Create pages\n\nWith a body."
    assert info.parents == () and info.date.utcoffset().total_seconds() == 0
    assert set(info.changes) == {FileChange("A", "Home.md", None),
                                 FileChange("A", "Team/Onboarding.md", None)}
    assert repo.fsck()[0]


def test_missing_files_and_paths_that_look_like_options(repo):
    save(repo, [Write("--output=x.md", b"a"), Write("-n.md", b"b"), Write(":(glob)*.md", b"c")])
    assert repo.read("HEAD", "--output=x.md")[1] == b"a"
    assert repo.read("HEAD", "-n.md")[1] == b"b"
    assert repo.read("HEAD", ":(glob)*.md")[1] == b"c"
    assert [c.id for c in repo.log(None, paths=[":(glob)*.md"])] == [repo.head()]
    with pytest.raises(PageNotFound):
        repo.read("HEAD", "Missing.md")
    assert repo.blob_id("HEAD", "Missing.md") is None
    with pytest.raises(InvalidPath):
        repo.read("HEAD", "../etc/passwd")
    with pytest.raises(InvalidPath):
        save(repo, [Write(".git/config", b"x")])


def test_stale_parent_raises_head_moved_and_leaves_branch_alone(repo):
    first = save(repo, [Write("A.md", b"1\n")])
    second = repo.commit([Write("A.md", b"2\n")], "two", ANN, first)
    with pytest.raises(HeadMoved) as caught:
        repo.commit([Write("B.md", b"late\n")], "late", BOB, first)
    assert caught.value.status == 409
    with pytest.raises(HeadMoved):
        repo.commit([Write("B.md", b"late\n")], "late", BOB, None)
    assert repo.head() == second
    assert git(repo, "rev-parse", "main").strip() == second
    assert "B.md" not in repo.tree()
    with pytest.raises(InvalidRevision):
        repo.commit([Write("B.md", b"x")], "head is not a base", BOB, "HEAD")


def test_nothing_to_commit_and_refused_changes_leave_no_commit(repo):
    first = save(repo, [Write("A.md", b"same\n"), Write("Folder/B.md", b"b")])
    with pytest.raises(NothingToCommit):
        save(repo, [Write("A.md", b"same\n")])
    with pytest.raises(PageNotFound):
        save(repo, [Delete("Nope.md")])
    with pytest.raises(PageNotFound):
        save(repo, [Delete("Folder")])
    with pytest.raises(InvalidPath):  # would silently delete A.md to make room for a folder
        save(repo, [Write("A.md/child.md", b"x")])
    with pytest.raises(InvalidPath):  # would silently delete Folder/B.md
        save(repo, [Write("Folder", b"x")])
    assert repo.head() == first
    # Replacing the file by a folder in one commit is fine.
    save(repo, [Delete("A.md"), Write("A.md/child.md", b"x")])
    assert set(repo.tree()) == {"A.md/child.md", "Folder/B.md"}


def test_delete_and_rename_show_in_log(repo):
    save(repo, [Write("Old.md", b"some text that stays the same\n" * 5), Write("Gone.md", b"g")],
         "create")
    save(repo, [Delete("Old.md"), Write("New.md", b"some text that stays the same\n" * 5)],
         "move")
    save(repo, [Delete("Gone.md")], "delete")
    assert repo.tree().keys() == {"New.md"}
    delete, move, create = repo.log(None)
    assert delete.changes == (FileChange("D", "Gone.md", None),)
    assert move.changes == (FileChange("R", "New.md", "Old.md"),)
    assert move.message == "move" and create.message == "create"
    # Deleting every file leaves an empty tree, not a broken commit.
    save(repo, [Delete("New.md")])
    assert repo.tree() == {}
    assert repo.fsck()[0]


def test_log_ranges_order_limits_and_paths(repo):
    ids = [save(repo, [Write(f"P{n % 2}.md", f"{n}\n".encode())], f"c{n}") for n in range(6)]
    assert [c.id for c in repo.log(None)] == ids[::-1]
    assert [c.id for c in repo.log(ids[1])] == ids[:1:-1]
    assert [c.id for c in repo.log(ids[1], ids[4])] == [ids[4], ids[3], ids[2]]
    assert [c.id for c in repo.log(ids[1], reverse=True)] == ids[2:]
    assert [c.id for c in repo.log(None, limit=2)] == [ids[5], ids[4]]
    # reverse + limit: the oldest ones, so a long range can be walked in batches
    assert [c.id for c in repo.log(ids[0], limit=2, reverse=True)] == [ids[1], ids[2]]
    assert [c.id for c in repo.log(None, paths=["P1.md"])] == [ids[5], ids[3], ids[1]]
    assert all(c.changes == () for c in repo.log(None, with_changes=False))
    assert repo.log(ids[5]) == []
    assert repo.is_ancestor(ids[1], ids[4]) and not repo.is_ancestor(ids[4], ids[1])


# -- revisions -------------------------------------------------------------------------

def test_resolve_validates_and_finds_revisions(repo):
    first = save(repo, [Write("A.md", b"a")])
    assert repo.resolve("HEAD") == first
    assert repo.resolve(first) == first
    assert repo.resolve(first[:8].upper()) == first
    for bad in ["--output=/x", "HEAD~1", "main", "-n", "", "abc", "a" * 65]:
        with pytest.raises(InvalidRevision):
            repo.resolve(bad)
    with pytest.raises(RevisionNotFound):
        repo.resolve("0123456789abcdef0123456789abcdef01234567")
    with pytest.raises(RevisionNotFound):
        repo.resolve(repo.blob_id("HEAD", "A.md"))  # a blob is no revision
    with pytest.raises(InvalidRevision):
        repo.read("--output=/tmp/x", "A.md")
    with pytest.raises(InvalidRevision):
        repo.log("--all")


def test_resolve_of_empty_repository(repo):
    with pytest.raises(RevisionNotFound):
        repo.resolve("HEAD")


def test_head_reads_packed_refs_without_running_git(repo, monkeypatch):
    first = save(repo, [Write("A.md", b"a")])
    git(repo, "pack-refs", "--all")
    assert not (repo.path / "refs/heads/main").exists()

    def no_git(*args, **kwargs):
        raise AssertionError("head() ran a process")

    monkeypatch.setattr(repo_module.subprocess, "run", no_git)
    monkeypatch.setattr(repo_module.subprocess, "Popen", no_git)
    assert repo.head() == first
    monkeypatch.undo()
    second = save(repo, [Write("A.md", b"b")])  # a loose ref again, newer than packed-refs
    assert repo.head() == second


def test_read_many_reads_blobs_in_one_go(repo):
    save(repo, [Write(f"P{n}.md", f"page {n}\n".encode()) for n in range(50)]
         + [Write("empty.md", b""), Write("binary.bin", bytes(range(256)) * 3)])
    tree = repo.tree()
    blobs = repo.read_many(list(tree.values()) + list(tree.values()))
    assert {path: blobs[oid] for path, oid in tree.items()} == {
        **{f"P{n}.md": f"page {n}\n".encode() for n in range(50)},
        "empty.md": b"", "binary.bin": bytes(range(256)) * 3}
    assert repo.read_many([]) == {}
    assert repo.read_many(["0" * 40]) == {}


# -- merge and blame -------------------------------------------------------------------

def test_merge3_merges_clean_edits_and_marks_conflicts(repo):
    base = "title\n\none\ntwo\nthree\n"
    merged, conflicts = repo.merge3(base, "TITLE\n\none\ntwo\nthree\n",
                                    "title\n\none\ntwo\nTHREE\n")
    assert (merged, conflicts) == ("TITLE\n\none\ntwo\nTHREE\n", False)

    merged, conflicts = repo.merge3(base, "title\n\nmine\ntwo\nthree\n",
                                    "title\n\ntheirs\ntwo\nthree\n")
    assert conflicts
    assert merged == ("title\n\n<<<<<<< yours\nmine\n=======\ntheirs\n>>>>>>> theirs\n"
                      "two\nthree\n")
    merged, _ = repo.merge3(base, "mine\n", "theirs\n", labels=("you", "base", "them"),
                            diff3=True)
    assert "<<<<<<< you" in merged and "||||||| base" in merged and ">>>>>>> them" in merged


def test_blame_attributes_each_line(repo):
    first = repo.commit([Write("P.md", b"line one\nline two\n")], "one", ANN, None)
    second = repo.commit([Write("P.md", b"line one\nline 2\nline three\n")], "two", BOB, first)
    lines = repo.blame("HEAD", "P.md")
    assert [(b.line_no, b.text, b.revision, b.author) for b in lines] == [
        (1, "line one", first, ANN), (2, "line 2", second, BOB), (3, "line three", second, BOB)]
    assert lines[0].date == repo.commit_info(first).date
    with pytest.raises(PageNotFound):
        repo.blame("HEAD", "Missing.md")


# -- the write lock and concurrency -----------------------------------------------------

HOLD_LOCK = """
    import sys, time
    from pathlib import Path
    from wiki.repo import Repository
    with Repository(Path(sys.argv[1])).write_lock():
        print("locked", flush=True)
        time.sleep(60)
"""


def test_write_lock_excludes_other_processes_and_dies_with_its_holder(repo):
    holder = run_python(HOLD_LOCK, str(repo.path))
    try:
        assert holder.stdout.readline().strip() == "locked"
        impatient = Repository(repo.path, lock_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(RepositoryBusy), impatient.write_lock():
            pass
        assert time.monotonic() - started >= 0.3
    finally:
        holder.kill()
        holder.communicate()
    with Repository(repo.path, lock_timeout=5).write_lock():
        pass  # a killed holder never leaves a stale lock


WORKER = """
    import sys
    from pathlib import Path
    from wiki.repo import Author, Repository, Write
    repo = Repository(Path(sys.argv[1]))
    worker = sys.argv[2]
    for n in range(10):
        with repo.write_lock():
            head = repo.head()
            shared = repo.read(head, "shared.md")[1]
            repo.commit([Write(f"w{worker}/{n}.md", f"{worker}:{n}\\n".encode()),
                         Write("shared.md", shared + f"{worker}:{n}\\n".encode())],
                        f"worker {worker} edit {n}", Author(f"w{worker}", "w@example.org"),
                        head)
"""


def test_concurrent_writers_lose_nothing(repo):
    seed = save(repo, [Write("shared.md", b"")], "seed")
    workers = [run_python(WORKER, str(repo.path), str(w)) for w in range(4)]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    assert len(repo.log(seed)) == 40
    tree = repo.tree()
    for w in range(4):
        for n in range(10):
            assert repo.read("HEAD", f"w{w}/{n}.md")[1] == f"{w}:{n}\n".encode()
    assert len(tree) == 41
    shared = repo.read("HEAD", "shared.md")[1].decode().splitlines()
    assert sorted(shared) == sorted(f"{w}:{n}" for w in range(4) for n in range(10))
    assert repo.fsck() == (True, "")
    assert ref_locks(repo) == []
    assert not (repo.path / "index").exists()


COUNTER = """
    import sys
    from pathlib import Path
    from wiki.repo import Author, Repository, Write
    repo = Repository(Path(sys.argv[1]))
    while True:
        with repo.write_lock():
            head = repo.head()
            n = int(repo.read(head, "counter.md")[1]) + 1
            repo.commit([Write(f"k/{n}.md", str(n).encode()), Write("counter.md", str(n).encode())],
                        f"count {n}", Author("killer", "k@example.org"), head)
"""


def test_a_writer_killed_mid_commit_leaves_a_consistent_repository(repo, tmp_path):
    save(repo, [Write("counter.md", b"0")], "seed")
    chance = random.Random(7)
    for _round in range(6):
        worker = run_python(COUNTER, str(repo.path), tmp=tmp_path)
        time.sleep(chance.uniform(0.15, 0.45))
        os.kill(worker.pid, signal.SIGKILL)
        worker.communicate()
        # An orphaned git child of the dead worker still holds the lock until it is done.
        with repo.write_lock():
            head = repo.head()
            count = int(repo.read(head, "counter.md")[1])
            assert len(repo.log(None)) == count + 1  # branch at a whole commit, none lost
            files = repo.tree()
            assert {p for p in files if p.startswith("k/")} == {f"k/{n}.md" for n in
                                                                 range(1, count + 1)}
            assert repo.fsck()[0]
            assert ref_locks(repo) == []
            repo.commit([Write("counter.md", str(count + 1).encode()),
                         Write(f"k/{count + 1}.md", str(count + 1).encode())],
                        "after the kill", ANN, head)
    assert git(repo, "fsck", "--strict", "--no-dangling") == ""


# -- objects written and read from Python ----------------------------------------------

def test_commits_written_from_python_pass_git_fsck_strict(repo):
    big = [Write(f"Big/page-{n:04d}.md", f"# Page {n}\n".encode()) for n in range(5000)]
    first = save(repo, [*big, Write("Team/Ünïcödé café.md", b"# Caf\xc3\xa9\n"),
                        Write("Team/Deep/Old.md", b"old\n")], "import")
    second = save(repo, [Write("Big/page-0042.md", b"# Changed\n"),
                         Write("Big/page-9999.md", b"# New\n")], "Update Big pages")
    third = save(repo, [Delete("Team/Deep/Old.md")], "Delete Team/Deep/Old", author=BOB)
    assert git(repo, "fsck", "--strict", "--no-dangling", "--no-progress") == ""
    assert git(repo, "rev-list", "main").split() == [third, second, first]
    assert git(repo, "show", f"{second}:Big/page-0042.md") == "# Changed\n"
    assert git(repo, "show", f"{first}:Team/Ünïcödé café.md") == "# Café\n"
    assert "Deep" not in git(repo, "ls-tree", "--name-only", f"{third}:Team")
    assert len(git(repo, "ls-tree", f"{third}:Big").splitlines()) == 5001
    assert git(repo, "log", "-1", "--format=%an <%ae>|%s", third) == \
        "Bob Sample <bob@example.org>|Delete Team/Deep/Old\n"


def test_what_a_commit_remembers_is_what_git_log_says(repo):
    save(repo, [Write("a/one.md", b"1"), Write("a/two.md", b"2")], "seed")
    for changes in ([Write("a/one.md", b"one"), Write("a/three.md", b"3")],
                    [Delete("a/two.md")]):
        commit = save(repo, changes, " Several\r\nlines \n\n")
        assert repo.made(commit).info == repo.commit_info(commit)
    moved = save(repo, [Delete("a/one.md"), Write("b/one.md", b"one")], "move")
    assert repo.made(moved) is None  # a rename: only `git log -M` tells


def test_commits_on_packed_history_and_reads_from_it(repo):
    first = save(repo, [Write("Team/a.md", b"a\n"), Write("Team/b.md", b"b\n")], "seed")
    git(repo, "gc", "--quiet", "--prune=now")
    fresh = Repository(repo.path)  # nothing in memory, every object packed
    assert fresh.read(first, "Team/a.md")[1] == b"a\n"
    assert fresh.resolve(first) == first
    second = save(fresh, [Write("Team/a.md", b"A\n")], "edit")
    assert fresh.tree(second) == {"Team/a.md": fresh.blob_id_of(b"A\n"),
                                  "Team/b.md": fresh.blob_id_of(b"b\n")}
    assert git(repo, "fsck", "--strict", "--no-dangling", "--no-progress") == ""
