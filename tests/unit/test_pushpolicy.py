"""The push policy (wiki/pushpolicy.py) on its own: names, modes, sizes, permissions, refs."""

import dataclasses
import os
import tempfile

import pytest

from wiki import pushpolicy
from wiki.cli import run_pre_receive
from wiki.pushpolicy import RefUpdate


@pytest.mark.parametrize("raw", [b"Home.md", b"Team/Onboarding.md", "Café/Ünïcode.md".encode(),
                                 b"Team/logo.png", b"Team/Sub folder/report 2024.pdf",
                                 b"Team/history.md"])
def test_plain_names_pass(raw):
    assert pushpolicy.name_problem(raw) is None


@pytest.mark.parametrize(("raw", "reason"), [
    (b"Caf\xe9.md", "not valid UTF-8"),
    ("Cafe\u0301.md".encode(), "NFC"),
    (b".gitattributes", ".gitattributes files are not allowed"),
    (b"Docs/.gitmodules", ".gitmodules files are not allowed"),
    (b".gitignore", "start with a dot"),
    (b"Team/.hidden.png", "start with a dot"),
    (b"Bad\\name.md", "cannot contain"),
    ("Trojan\u202esource.md".encode(), "control or invisible"),
    (b"Tab\tname.png", "control or invisible"),
    (b"Team/ space.md", "start or end with a space"),
    (b"Page.MD", "lower case"),
    (b"Page.md.md", "plain form"),
    (b"a/.git/config", "dot"),
    (("x" * 300 + ".md").encode(), "at most"),
])
def test_unsafe_names_are_refused_with_a_reason(raw, reason):
    assert reason in pushpolicy.name_problem(raw)


def test_modes_and_sizes():
    assert pushpolicy.mode_problem("100644") is None and pushpolicy.mode_problem("100755") is None
    assert "symbolic links" in pushpolicy.mode_problem("120000")
    assert "submodules" in pushpolicy.mode_problem("160000")
    assert pushpolicy.size_problem(b"a.md", 10, 10, 5) is None  # pages have their own limit
    assert "pages can have at most 10" in pushpolicy.size_problem(b"a.md", 11, 10, 100)
    assert pushpolicy.size_problem(b"a.png", 100, 10, 100) is None
    assert "files can have at most 100" in pushpolicy.size_problem(b"a.png", 101, 10, 100)


def test_case_collisions_cover_folders_too():
    assert pushpolicy.case_collisions([b"A.md", b"B.md"]) == {}
    assert pushpolicy.case_collisions([b"A.md", b"a.md"]) == {"a.md": {"A.md", "a.md"}}
    found = pushpolicy.case_collisions([b"Team/x.md", b"team/y.md"])
    assert found == {"team": {"Team", "team"}}


def test_permission_name_of_pages_and_attachments():
    assert pushpolicy.permission_name("HR/Plan.md") == "HR/Plan"
    assert pushpolicy.permission_name("HR/Plan/chart.png") == "HR/Plan/chart.png"


# --- against a real repository -----------------------------------------------------------------

def make_commit(repo, parent, files: dict[bytes, tuple[str, bytes]], delete=(),
                message="test") -> str:
    """A commit on top of `parent` that is in the repository but on no branch (as a pushed,
    not yet accepted commit would be). files: path -> (mode, content)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index"), "GIT_AUTHOR_NAME": "T",
               "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@x"}
        if parent:
            repo._git("read-tree", parent, env=env)
        lines = b""
        for path, (mode, data) in files.items():
            oid = data.decode() if mode == "160000" else \
                repo._git("hash-object", "-w", "--stdin", input=data).stdout.decode().strip()
            lines += f"{mode} {oid}\t".encode() + path + b"\0"
        for path in delete:
            lines += b"0 " + b"0" * 40 + b"\t" + path + b"\0"
        repo._git("update-index", "-z", "--index-info", input=lines, env=env)
        tree = repo._git("write-tree", env=env).stdout.decode().strip()
        args = ["commit-tree", tree] + (["-p", parent] if parent else [])
        return repo._git(*args, input=message.encode(), env=env).stdout.decode().strip()


@pytest.fixture
def push(services):
    services.users.create("ed", "password-123", role="editor")
    services.users.create("rea", "password-123", role="reader")
    services.acl.set_rule("HR", "user:ed", "user:admin", actor="test")  # ed reads, not writes

    def check(commit, user="ed", old=None, ref=None):
        head = services.repo.head()
        update = RefUpdate(old or head, commit, ref or services.repo.ref)
        account = services.users.by_name(user)
        return pushpolicy.check_push(services.repo, services.permissions, account,
                                services.settings, [update])

    return check


def test_a_clean_push_passes(services, push):
    commit = make_commit(services.repo, services.repo.head(),
                         {b"Team/New.md": ("100644", b"# New\n"),
                          b"Team/New/pic.png": ("100644", b"\x89PNG")})
    assert push(commit) == []


def test_refusals_name_the_path_and_the_reason(services, push):
    head = services.repo.head()
    bad = make_commit(services.repo, head, {b"Link.md": ("120000", b"/etc/passwd"),
                                            b"Sub": ("160000", head.encode()),
                                            b".gitattributes": ("100644", b"* filter=x\n")})
    problems = push(bad)
    assert "Link.md: symbolic links are not allowed" in problems
    assert "Sub: submodules are not allowed" in problems
    assert ".gitattributes: .gitattributes files are not allowed" in problems


def test_a_bad_file_in_an_earlier_commit_is_found_though_a_later_one_removes_it(services,
                                                                                 push):
    head = services.repo.head()
    first = make_commit(services.repo, head, {b"big.bin": ("100644", b"x" * 200)})
    second = make_commit(services.repo, first, {}, delete=[b"big.bin"])
    services.settings = dataclasses.replace(services.settings, max_attachment_bytes=100)
    assert any(p.startswith("big.bin: the file has 200 bytes") for p in push(second))


def test_permissions_apply_to_every_changed_path(services, push):
    admin = services.users.create("boss", "password-123", role="admin")
    assert admin.is_admin
    commit = make_commit(services.repo, services.repo.head(),
                         {b"HR/Salaries.md": ("100644", b"secret\n"),
                          b"HR/chart.png": ("100644", b"png")})
    problems = push(commit)
    assert "HR/Salaries.md: ed may not change this path" in problems
    assert "HR/chart.png: ed may not change this path" in problems
    assert push(commit, user="boss") == []
    assert push(commit, user="rea") == ["The account rea may read but not change the wiki."]


def test_a_merge_counts_only_what_the_pusher_changed(services, push):
    """A `git pull` merge brings a colleague's edit of a page ed may not write: allowed."""
    repo = services.repo
    base = repo.head()
    # On the wiki meanwhile: the admin edits HR (the branch moves to `web`).
    web = make_commit(repo, base, {b"HR/Plan.md": ("100644", b"admin's plan\n")})
    repo._git("update-ref", repo.ref, web, base)
    mine = make_commit(repo, base, {b"Mine.md": ("100644", b"mine\n")})
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        repo._git("read-tree", web, env=env)
        repo._git("update-index", "--add", "--cacheinfo",
                  "100644," + repo.blob_id(mine, "Mine.md") + ",Mine.md", env=env)
        tree = repo._git("write-tree", env=env).stdout.decode().strip()
    ident = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "T",
             "GIT_COMMITTER_EMAIL": "t@x"}
    merge = repo._git("commit-tree", tree, "-p", mine, "-p", web, input=b"merge",
                      env=ident).stdout.decode().strip()
    assert push(merge, old=web) == []
    # But a merge that takes the old version of HR/Plan (ed's side) changes HR/Plan.
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        repo._git("read-tree", mine, env=env)
        tree = repo._git("write-tree", env=env).stdout.decode().strip()
    sneaky = repo._git("commit-tree", tree, "-p", mine, "-p", web, input=b"merge",
                       env=ident).stdout.decode().strip()
    assert "HR/Plan.md: ed may not change this path" in push(sneaky, old=web)


def test_ref_rules(services, push):
    repo = services.repo
    head = repo.head()
    ahead = make_commit(repo, head, {b"A.md": ("100644", b"a\n")})
    sideways = make_commit(repo, None, {b"B.md": ("100644", b"b\n")})  # unrelated history
    zero = "0" * len(head)
    assert "only refs/heads/main can be pushed" in push(ahead, ref="refs/heads/x")[0]
    assert "only refs/heads/main" in push(ahead, ref="refs/tags/v1")[0]
    assert "cannot be deleted" in push(zero)[0]
    assert "not a fast-forward" in push(sideways)[0]


def test_case_collision_is_refused_only_when_new(services, push):
    commit = make_commit(services.repo, services.repo.head(),
                         {b"home.md": ("100644", b"twin\n")})
    assert "Home.md and home.md: these names differ only in case" in push(commit)[0]


def test_the_hook_refuses_pushes_not_made_through_the_wiki(services, capsys):
    assert run_pre_receive([], environ={}) == 1
    assert "Push through the wiki's address" in capsys.readouterr().err


def test_the_hook_is_installed_and_checked(services):
    repo = services.repo
    hook = repo.path / "hooks" / "pre-receive"
    assert pushpolicy.MARKER in hook.read_text() and os.access(hook, os.X_OK)
    assert pushpolicy.check_repository(repo) == []
    assert pushpolicy.install(repo.path) is False  # already current
    hook.write_text("#!/bin/sh\nexit 0\n")
    repo._git("config", "receive.fsckObjects", "false")
    problems = pushpolicy.check_repository(repo)
    assert any("receive.fsckobjects" in p for p in problems)
    assert any("push policy hook" in p for p in problems)
    assert pushpolicy.install(repo.path) is True
    repo.init()
    assert pushpolicy.check_repository(repo) == []


# --- names that deceive (issue 12, items 5 and 4) ----------------------------------------------

@pytest.mark.parametrize(("files", "reason"), [
    ({"ＨＲ/Evil.md": b"x\n"}, "ＨＲ/Evil.md: 'ＨＲ/Evil' is not in plain Unicode form (NFKC)"),
    ({"HR./Evil.md": b"x\n"}, "HR./Evil.md: A part of a name cannot end with a dot"),
    ({"CON.md": b"x\n"}, "CON.md: 'CON' is a device name on Windows"),
    ({"Docs/con.txt": b"x\n"}, "Docs/con.txt: 'con.txt' is a device name on Windows"),
    ({"Нome.md": b"x\n"}, "Нome.md: the page looks like Home (Unicode look-alikes)"),
    ({"Team/A.md": b"x\n", "Team/Α.md": b"y\n"}, "looks like Team/"),  # pushed together
    ({"Home": b"file\n"}, "Home: a file cannot have the name of the page Home"),
])
def test_pushed_names_follow_the_rules_for_new_names(services, push, files, reason):
    commit = make_commit(services.repo, services.repo.head(),
                         {p.encode(): ("100644", d) for p, d in files.items()})
    problems = push(commit)
    assert any(p.startswith(reason) or reason in p for p in problems), problems


def test_pushed_changes_to_old_names_pass(services, push):
    """A page that exists under a name refused today can still be changed by a push."""
    repo = services.repo
    legacy = make_commit(repo, repo.head(), {b"CON.md": ("100644", b"old\n")})
    repo._git("update-ref", repo.ref, legacy)
    assert push(make_commit(repo, legacy, {b"CON.md": ("100644", b"new\n")})) == []
