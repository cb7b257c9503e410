"""Many simultaneous saves against the multi-worker server: nothing lost, git stays healthy.

The tests run in file order on one server; the last one kills a worker.
"""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.conftest import WORKERS, git, run_wiki

THREADS = 12
TIMEOUT = 60


def put(server, user, name, markdown, message, base=None):
    """PUT a page through the API as `user`; returns (status, JSON body)."""
    body = {"markdown": markdown, "message": message}
    if base is not None:
        body["base_revision"] = base
    response = requests.put(f"{server.url}/api/v1/pages/{name}", json=body, timeout=TIMEOUT,
                            headers={"Authorization": f"Bearer {server.token(user)}"})
    try:
        data = response.json()
    except ValueError:
        data = {"body": response.text[:500]}
    return response.status_code, data


def get_markdown(server, name):
    response = requests.get(f"{server.url}/api/v1/pages/{name}", timeout=TIMEOUT,
                            headers={"Authorization": f"Bearer {server.token('alice')}"})
    assert response.status_code == 200, response.text
    return response.json()["markdown"]


def new_commits(server, since):
    """(author, subject) of the commits after `since` on main, oldest first."""
    out = git(server.repo, "log", "--reverse", "--format=%an%x09%s", f"{since}..main").stdout
    return [tuple(line.split("\t", 1)) for line in out.splitlines()]


def assert_repository_healthy(server):
    fsck = git(server.repo, "fsck", "--no-progress", "--no-dangling", check=False)
    report = fsck.stdout + fsck.stderr
    assert fsck.returncode == 0, report
    assert not any(word in report for word in ("error", "missing", "broken", "corrupt")), report
    git(server.repo, "rev-parse", "--verify", "main^{commit}")
    # kennis-write.lock is the write lock's permanent flock file; any other *.lock (index.lock,
    # refs/heads/main.lock, packed-refs.lock) is a git transaction left behind.
    left = [str(path.relative_to(server.repo)) for path in server.repo.rglob("*.lock")
            if path.name != "kennis-write.lock"]
    assert left == [], left


def users_for(number):
    return "alice" if number % 2 == 0 else "bob"


def test_saves_to_many_pages_at_once_all_land_with_their_authors(server):
    start = server.head()
    pages = 30

    def two_saves(number):
        """Create a page as one user, then update it (on top of that) as the other."""
        name = f"Load/Page {number:02d}"
        first, second = users_for(number), users_for(number + 1)
        text1 = f"# Page {number}\n\nFirst text of page {number}, by {first}.\n"
        text2 = f"# Page {number}\n\nSecond text of page {number}, by {second}.\n"
        status1, data1 = put(server, first, name, text1, f"load {number:02d} v1")
        status2, data2 = put(server, second, name, text2, f"load {number:02d} v2",
                             base=data1.get("revision"))
        return name, text2, [(status1, data1), (status2, data2)]

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(two_saves, range(pages)))

    for name, _text, responses in results:
        (status1, data1), (status2, data2) = responses
        assert status1 == 201, (name, status1, data1)
        assert data1["created"] is True
        assert status2 == 200, (name, status2, data2)
        assert data2["created"] is False
        assert data2["revision"] != data1["revision"]
    for name, text, _responses in results:
        assert get_markdown(server, name) == text

    commits = new_commits(server, start)
    assert len(commits) == 2 * pages, commits
    expected = {}
    for number in range(pages):
        expected[f"load {number:02d} v1"] = users_for(number)
        expected[f"load {number:02d} v2"] = users_for(number + 1)
    assert dict((subject, author) for author, subject in commits) == expected
    assert sorted(subject for _author, subject in commits) == sorted(expected)
    # Each page's second version comes after its first.
    order = [subject for _author, subject in commits]
    for number in range(pages):
        assert order.index(f"load {number:02d} v1") < order.index(f"load {number:02d} v2")
    assert_repository_healthy(server)


def test_saves_to_one_page_from_one_base_merge_or_conflict_never_lose_text(server):
    name = "Load/Shared"
    lines = [f"line {i:02d}: as it was" for i in range(40)]
    status, data = put(server, "alice", name, "\n".join(lines) + "\n", "shared base")
    assert status == 201, data
    base = data["revision"]
    start = server.head()

    def change_line(i):
        # Neighbouring lines (whose changes overlap for git merge-file) belong to different
        # users, so every overlap is a real conflict with someone else, never one of the
        # user's own saves (which the wiki lets win instead of conflicting).
        user = users_for(i)
        changed = list(lines)
        changed[i] = f"line {i:02d}: changed by {user}"
        return i, changed[i], put(server, user, name, "\n".join(changed) + "\n",
                                  f"shared line {i:02d}", base=base)

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(change_line, range(len(lines))))

    saved, refused = [], []
    for i, new_line, (status, data) in results:
        assert status in (200, 409), (i, status, data)
        if status == 200:
            saved.append((i, new_line, data))
        else:
            conflict = data["conflict"]
            assert conflict["revision"]
            assert "<<<<<<<" in conflict["merged_with_markers"]
            assert new_line in conflict["yours"]
            refused.append((i, new_line))
    assert saved, "no save got through"
    final = get_markdown(server, name).splitlines()
    assert len(final) == len(lines)
    for i, new_line, _data in saved:
        assert final[i] == new_line, f"the save of line {i} was lost"
    for i, _new_line in refused:
        assert final[i] == lines[i], f"the refused save of line {i} was written anyway"

    # Only the first save finds the page as it was at the base; every later one is a merge.
    assert sorted(data["merged"] for _i, _line, data in saved) == \
        [False] + [True] * (len(saved) - 1), saved
    commits = new_commits(server, start)
    assert len(commits) == len(saved), (commits, [i for i, _l, _d in saved])
    assert sorted(subject for _author, subject in commits) == \
        sorted(f"shared line {i:02d}" for i, _line, _data in saved)
    assert {data["revision"] for _i, _line, data in saved} == \
        set(git(server.repo, "rev-list", f"{start}..main").stdout.split())
    assert_repository_healthy(server)


def test_two_saves_by_one_user_from_one_base_keep_both_changes(server):
    """Two tabs (or an API client and a tab) of one user, both started from the same version:
    the second save must not silently drop the first one's change."""
    name = "Load/Two tabs"
    status, data = put(server, "alice", name, "alpha\nbeta\ngamma\ndelta\n", "two tabs")
    assert status == 201, data
    base = data["revision"]
    status, data = put(server, "alice", name, "ALPHA\nbeta\ngamma\ndelta\n", "tab one",
                       base=base)
    assert status == 200, data
    status, data = put(server, "alice", name, "alpha\nbeta\ngamma\nDELTA\n", "tab two",
                       base=base)
    assert status in (200, 409), data
    if status == 200:
        assert get_markdown(server, name) == "ALPHA\nbeta\ngamma\nDELTA\n", \
            "the first tab's save was lost"
    else:
        assert get_markdown(server, name) == "ALPHA\nbeta\ngamma\ndelta\n"


def test_a_save_still_works_and_wiki_check_passes(server):
    start = server.head()
    status, data = put(server, "bob", "Load/After", "Still fine.\n", "after the rush")
    assert status == 201, data
    assert new_commits(server, start) == [("bob", "after the rush")]
    assert get_markdown(server, "Load/After") == "Still fine.\n"
    result = run_wiki(server.home, "check", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_killed_worker_leaves_the_repository_healthy(server):
    before = server.workers()
    assert len(before) == WORKERS, server.log()
    start = server.head()
    saves = 36
    done = threading.Semaphore(0)
    victim = sorted(before)[0]

    def save(number):
        name = f"Load/Crash {number:02d}"
        text = f"Crash test page {number}.\n"
        try:
            status, data = put(server, users_for(number), name, text, f"crash {number:02d}")
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            # the request the killed worker was serving
            status, data = None, {"error": str(exc)}
        done.release()
        return name, text, status, data

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(save, number) for number in range(saves)]
        for _ in range(6):  # let the burst get going, then kill a worker in the middle of it
            assert done.acquire(timeout=TIMEOUT)
        os.kill(victim, signal.SIGKILL)
        results = [future.result() for future in futures]

    # gunicorn notices and starts a new worker.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = server.workers()
        if len(now) == WORKERS and victim not in now:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"gunicorn did not replace worker {victim}: {server.workers()}\n"
                    f"{server.log()[-3000:]}")

    assert_repository_healthy(server)
    subjects = {subject for _author, subject in new_commits(server, start)}
    for name, text, status, data in results:
        assert status in (200, 201, None), (name, status, data)
        number = name[-2:]
        if status is not None:
            assert get_markdown(server, name) == text
            assert f"crash {number}" in subjects
        else:  # cut off: saved completely or not at all
            response = requests.get(f"{server.url}/api/v1/pages/{name}", timeout=TIMEOUT,
                                    headers={"Authorization": f"Bearer {server.token('bob')}"})
            assert response.status_code in (200, 404), response.text
            if response.status_code == 200:
                assert response.json()["markdown"] == text
                assert f"crash {number}" in subjects
    assert sum(status is not None for *_rest, status, _data in results) >= saves // 2

    # Afterwards every save works again (also on the new worker, whichever gets the request).
    def later(number):
        return put(server, users_for(number), f"Load/Crash {number:02d}",
                   f"After the crash {number}.\n", f"after crash {number:02d}")

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = list(pool.map(later, range(saves)))
    assert all(status in (200, 201) for status, _data in statuses), statuses
    for number in range(saves):
        assert get_markdown(server, f"Load/Crash {number:02d}") == f"After the crash {number}.\n"
    assert_repository_healthy(server)
    result = run_wiki(server.home, "check", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
