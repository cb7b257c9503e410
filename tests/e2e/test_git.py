"""Git access end to end: the real git client against a real `wiki serve` with several workers.

This module starts its own server (users, a permission rule and a small attachment limit of its
own), so it shares nothing with the other end-to-end tests.
"""

import http.client
import os
import re
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import WIKI, run_wiki

WORKERS = 3
PASSWORDS = {"admin": "admin-pass-git-1", "alice": "alice-pass-git-1", "bob": "bob-pass-git-1",
             "rita": "rita-pass-git-1", "hedy": "hedy-pass-git-1"}
MAX_ATTACHMENT = 50_000


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GitWiki:
    def __init__(self, home: Path, url: str, process: subprocess.Popen, tmp: Path):
        self.home = home
        self.url = url
        self.process = process
        self.repo = home / "content" / "wiki.git"
        self.tmp = tmp
        self.git_home = tmp / "git-home"
        self.git_home.mkdir(exist_ok=True)
        self._tokens: dict[str, str] = {}
        self._count = 0

    def clone_url(self, user: str | None = None, secret: str | None = None) -> str:
        host = self.url.removeprefix("http://")
        if user is None:
            return f"http://{host}/wiki.git"
        secret = PASSWORDS[user] if secret is None else secret
        return (f"http://{urllib.parse.quote(user, safe='')}:"
                f"{urllib.parse.quote(secret, safe='')}@{host}/wiki.git")

    def token(self, user: str) -> str:
        if user not in self._tokens:
            out = run_wiki(self.home, "token", "create", user, "--label", "git").stdout
            self._tokens[user] = out.strip().splitlines()[-1].strip()
        return self._tokens[user]

    def git(self, *args: str, cwd: Path | None = None, check: bool = True
            ) -> subprocess.CompletedProcess:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.git_home),
               "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C",
               "GIT_AUTHOR_NAME": "Ann Power", "GIT_AUTHOR_EMAIL": "ann@example.org",
               "GIT_COMMITTER_NAME": "Ann Power", "GIT_COMMITTER_EMAIL": "ann@example.org"}
        result = subprocess.run(["git", "-c", "credential.helper=", "-c", "core.quotePath=false",
                                 *args], cwd=cwd, env=env, capture_output=True, timeout=120)
        if check and result.returncode != 0:
            pytest.fail(f"git {' '.join(args)} exited {result.returncode}:\n"
                        f"{result.stderr.decode(errors='replace')}")
        return result

    def clone(self, user: str = "alice", secret: str | None = None) -> Path:
        self._count += 1
        target = self.tmp / f"clone-{self._count}"
        self.git("clone", "--quiet", self.clone_url(user, secret), str(target))
        return target

    def head(self) -> str:
        return subprocess.run(["git", "--git-dir", str(self.repo), "rev-parse", "refs/heads/main"],
                              capture_output=True, text=True, check=True).stdout.strip()

    def fsck_ok(self) -> bool:
        return subprocess.run(["git", "--git-dir", str(self.repo), "fsck", "--no-dangling"],
                              capture_output=True).returncode == 0

    def api(self, method: str, path: str, user: str = "alice", **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        return requests.request(method, f"{self.url}/api/v1/{path}", headers=headers,
                                timeout=30, **kwargs)

    def page(self, path: str, user: str = "alice") -> requests.Response:
        session = requests.Session()
        login(session, self.url, user)
        return session.get(f"{self.url}/{path}", timeout=30)


def login(session: requests.Session, url: str, user: str) -> None:
    form = session.get(f"{url}/login", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = session.post(f"{url}/login", data={"name": user, "password": PASSWORDS[user],
                                                "csrf_token": csrf}, timeout=30)
    assert answer.status_code == 200 and "/logout" in answer.text


@pytest.fixture(scope="module")
def wiki(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("git-e2e")
    home = tmp / "home"
    home.mkdir()
    run_wiki(home, "init", "--admin", "admin", "--password-stdin",
             stdin=PASSWORDS["admin"] + "\n")
    for name, role in (("alice", "editor"), ("bob", "editor"), ("rita", "reader"),
                       ("hedy", "editor")):
        run_wiki(home, "user", "add", name, "--role", role, "--email", f"{name}@example.org",
                 "--password-stdin", stdin=PASSWORDS[name] + "\n")
    # Everyone but hedy reads Private; only alice (and admin) write it.
    run_wiki(home, "acl", "set", "Private", "--read",
             "user:alice,user:bob,user:rita,user:admin", "--write", "user:alice")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIKI_")}
    (home / "run").mkdir(mode=0o700, exist_ok=True)
    env.update(XDG_RUNTIME_DIR=str(home / "run"), PYTHONUNBUFFERED="1",
               WIKI_MAX_ATTACHMENT_BYTES=str(MAX_ATTACHMENT))
    log = open(tmp / "serve.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [str(WIKI), "--home", str(home), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(WORKERS)], stdin=subprocess.DEVNULL, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True, env=env)
    server = GitWiki(home, f"http://127.0.0.1:{port}", process, tmp)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp / "serve.log").read_text()
            try:
                if requests.get(server.url + "/login", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, (tmp / "serve.log").read_text()
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def write(clone: Path, path: str, text: str | bytes) -> None:
    file = clone / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(text.encode() if isinstance(text, str) else text)


def commit_all(wiki: GitWiki, clone: Path, message: str) -> None:
    wiki.git("add", "-A", cwd=clone)
    wiki.git("commit", "--quiet", "-m", message, cwd=clone)


def push(wiki: GitWiki, clone: Path, *args: str, check: bool = True
         ) -> subprocess.CompletedProcess:
    return wiki.git("push", *(args or ("origin", "HEAD:main")), cwd=clone, check=check)


# --- clone -------------------------------------------------------------------------------------

def test_clone_with_password_and_with_token(wiki):
    by_password = wiki.clone("alice")
    assert (by_password / "Home.md").is_file()
    by_token = wiki.clone("anything", secret=wiki.token("bob"))
    assert (by_token / "Home.md").read_bytes() == (by_password / "Home.md").read_bytes()
    assert wiki.git("rev-parse", "HEAD", cwd=by_token).stdout.decode().strip() == wiki.head()


def test_clone_needs_credentials_and_whole_wiki_read(wiki):
    anonymous = wiki.git("clone", wiki.clone_url(), str(wiki.tmp / "anon"), check=False)
    assert anonymous.returncode != 0
    wrong = wiki.git("clone", wiki.clone_url("alice", "wrong-password"),
                     str(wiki.tmp / "wrong"), check=False)
    assert wrong.returncode != 0 and b"Authentication failed" in wrong.stderr
    hedy = wiki.git("clone", wiki.clone_url("hedy"), str(wiki.tmp / "hedy"), check=False)
    assert hedy.returncode != 0
    assert b"may not read every page" in hedy.stderr
    assert not (wiki.tmp / "hedy" / "Home.md").exists()


def test_missing_credentials_get_a_basic_challenge(wiki):
    answer = requests.get(f"{wiki.url}/wiki.git/info/refs?service=git-upload-pack", timeout=30)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="Kennis"'


def test_browser_session_cookies_are_ignored(wiki):
    session = requests.Session()
    login(session, wiki.url, "alice")
    assert session.get(f"{wiki.url}/api/v1/pages", timeout=30).status_code == 200
    for service in ("git-upload-pack", "git-receive-pack"):
        answer = session.get(f"{wiki.url}/wiki.git/info/refs?service={service}", timeout=30)
        assert answer.status_code == 401
    answer = session.post(f"{wiki.url}/wiki.git/git-receive-pack", data=b"0000",
                          headers={"Content-Type": "application/x-git-receive-pack-request"},
                          timeout=30)
    assert answer.status_code == 401


@pytest.mark.parametrize("path", [
    "/wiki.git/objects/info/alternates", "/wiki.git/../x", "/wiki.git/%2e%2e/x",
    "/wiki.git/%2e%2e/%2e%2e/instance/secret_key", "/wiki.git/HEAD", "/wiki.git/config",
    "/wiki.git/info/refs", "/wiki.git/info/refs?service=git-upload-archive",
    "/wiki.git/objects/info/packs", "/wiki.git/hooks/pre-receive", "/wiki.git/../../etc/passwd",
])
def test_path_traversal_and_dumb_protocol_probes_get_4xx(wiki, path):
    host, port = wiki.url.removeprefix("http://").split(":")
    auth = requests.auth._basic_auth_str("admin", PASSWORDS["admin"])
    for headers in ({}, {"Authorization": auth}):
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("GET", path, headers=headers)  # sent as is, not normalised
        answer = connection.getresponse()
        body = answer.read()
        connection.close()
        assert 400 <= answer.status < 500, (path, answer.status)
        assert b"[core]" not in body and b"PACK" not in body and b"root:" not in body


# --- push --------------------------------------------------------------------------------------

def test_push_new_changed_renamed_and_deleted_pages(wiki):
    clone = wiki.clone("alice")
    write(clone, "Git/Fresh.md", "# Fresh\n\nPushed with [[Git/Second]].\n")
    write(clone, "Git/Second.md", "# Second\n\nfirst text\n")
    write(clone, "Git/Gone.md", "# Gone soon\n")
    write(clone, "Git/Old name.md", "# Renamed\n\nkeeps its history\n")
    commit_all(wiki, clone, "Add pages over git")
    write(clone, "Git/Second.md", "# Second\n\nchanged text\n")
    commit_all(wiki, clone, "Change a page over git")
    wiki.git("mv", "Git/Old name.md", "Git/New name.md", cwd=clone)
    wiki.git("rm", "--quiet", "Git/Gone.md", cwd=clone)
    commit_all(wiki, clone, "Rename and delete over git")
    push(wiki, clone)
    assert wiki.head() == wiki.git("rev-parse", "HEAD", cwd=clone).stdout.decode().strip()

    # Visible at once, from any worker: the catch-up ran before `git push` returned.
    for _ in range(WORKERS * 2):
        assert "Pushed with" in wiki.page("wiki/Git/Fresh").text
    assert wiki.api("GET", "pages/Git/Second").json()["markdown"] == "# Second\n\nchanged text\n"
    raw = wiki.page("raw/Git/New name")
    assert raw.status_code == 200 and "keeps its history" in raw.text
    assert wiki.api("GET", "pages/Git/Gone").status_code == 404
    history = wiki.api("GET", "history/Git/Second").json()["revisions"]
    assert [r["message"] for r in history][:2] == ["Change a page over git",
                                                   "Add pages over git"]
    assert {r["author"] for r in history} == {"Ann Power"}  # authorship as git records it
    assert "Change a page over git" in wiki.page("history/Git/Second").text
    renamed = wiki.api("GET", "history/Git/New name").json()["revisions"]
    assert len(renamed) == 2  # the rename and the commit that created it under its old name
    listing = {p["path"] for p in wiki.api("GET", "pages", params={"prefix": "Git"})
               .json()["pages"]}
    assert listing == {"Git/Fresh", "Git/Second", "Git/New name"}
    # The commits keep Ann Power as author; the activity stream says alice pushed them.
    assert "alice pushed 3 commits with git" in wiki.page("activity").text


def test_push_of_a_binary_attachment_beside_a_page(wiki):
    clone = wiki.clone("alice")
    write(clone, "Git/Pictures/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    write(clone, "Git/Pictures.md", "![logo](Pictures/logo.png)\n")
    commit_all(wiki, clone, "A page with an attachment")
    push(wiki, clone)
    assert wiki.api("GET", "pages/Git/Pictures").status_code == 200


def _refused(wiki: GitWiki, clone: Path, *args: str, user_message: bytes) -> None:
    before = wiki.head()
    result = push(wiki, clone, *args, check=False)
    assert result.returncode != 0, result.stderr
    assert user_message in result.stderr, result.stderr.decode(errors="replace")
    assert wiki.head() == before
    assert wiki.fsck_ok()


def _fresh(wiki: GitWiki, user: str = "alice") -> Path:
    return wiki.clone(user)


def test_push_refuses_a_symlink(wiki):
    clone = _fresh(wiki)
    (clone / "Link.md").symlink_to("/etc/passwd")
    commit_all(wiki, clone, "symlink")
    _refused(wiki, clone, user_message=b"remote:   Link.md: symbolic links are not allowed")


def test_push_refuses_a_submodule(wiki):
    clone = _fresh(wiki)
    head = wiki.head()
    wiki.git("update-index", "--add", "--cacheinfo", f"160000,{head},Sub", cwd=clone)
    wiki.git("commit", "--quiet", "-m", "gitlink", cwd=clone)
    _refused(wiki, clone, user_message=b"Sub: submodules are not allowed")


@pytest.mark.parametrize("name", [".gitattributes", ".gitmodules", "Docs/.gitattributes"])
def test_push_refuses_git_metadata_files(wiki, name):
    clone = _fresh(wiki)
    write(clone, name, "* filter=evil\n")
    commit_all(wiki, clone, "metadata")
    _refused(wiki, clone, user_message=f"{name}: {name.rpartition('/')[2]} files are not "
             "allowed".encode())


@pytest.mark.parametrize(("raw", "message"), [
    (b".hidden/Page.md", b"cannot start with a dot"),
    (b"Caf\xe9.md", b"not valid UTF-8"),
    ("Cafe\u0301.md".encode(), b"not in Unicode NFC form"),
    ("Bidi\u202e.md".encode(), b"control or invisible characters"),
    (b"Back\\slash.md", b"cannot contain"),
    (b"Shout.MD", b"must end in .md in lower case"),
])
def test_push_refuses_unsafe_names(wiki, raw, message):
    clone = _fresh(wiki)
    file = clone / os.fsdecode(raw)  # surrogateescape: the bytes reach the disk as they are
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(b"text\n")
    commit_all(wiki, clone, "unsafe name")
    _refused(wiki, clone, user_message=message)


@pytest.mark.parametrize(("path", "message"), [
    ("ＨＲ/Evil.md", "'ＨＲ/Evil' is not in plain Unicode form (NFKC); write 'HR/Evil'"),
    ("Нome.md", "the page looks like Home (Unicode look-alikes)"),  # Cyrillic Н
    ("HR./Evil.md", "A part of a name cannot end with a dot ('HR.')"),
    ("CON.md", "'CON' is a device name on Windows"),
    ("Docs/aux.txt", "'aux.txt' is a device name on Windows"),
    ("Home", "a file cannot have the name of the page Home"),
])
def test_push_refuses_names_that_deceive(wiki, path, message):
    """Issue 12, item 5: the same rules as the web and the API, with the rule named."""
    clone = _fresh(wiki)
    write(clone, path, "text\n")
    commit_all(wiki, clone, "deceiving name")
    _refused(wiki, clone, user_message=f"{path}: ".encode() + message.encode())


def test_push_refuses_names_differing_only_in_case(wiki):
    clone = _fresh(wiki)
    write(clone, "Twin.md", "one\n")
    write(clone, "twin.md", "two\n")
    commit_all(wiki, clone, "twins")
    _refused(wiki, clone, user_message=b"Twin.md and twin.md: these names differ only in case")


def test_push_refuses_a_file_over_the_size_limit_even_deleted_later(wiki):
    clone = _fresh(wiki)
    write(clone, "Big/archive.bin", os.urandom(MAX_ATTACHMENT + 1))
    commit_all(wiki, clone, "big file")
    wiki.git("rm", "--quiet", "Big/archive.bin", cwd=clone)
    write(clone, "Big.md", "the big file is gone again\n")
    commit_all(wiki, clone, "remove it again")
    _refused(wiki, clone, user_message=b"Big/archive.bin: the file has 50,001 bytes")


def test_push_refuses_a_page_the_pusher_may_not_write(wiki):
    owner = wiki.clone("alice")
    write(owner, "Private/Plan.md", "alice's plan\n")
    commit_all(wiki, owner, "plan")
    push(wiki, owner)  # alice may write Private
    clone = wiki.clone("bob")  # bob may read it (so he may clone) but not write
    write(clone, "Private/Plan.md", "bob's plan\n")
    write(clone, "Public.md", "allowed\n")
    commit_all(wiki, clone, "bob edits")
    _refused(wiki, clone, user_message=b"Private/Plan.md: bob may not change this path")


def test_a_forced_push_is_merged_and_never_rewrites_history(wiki):
    for text in ("first\n", "second\n"):
        assert wiki.api("PUT", "pages/Forced", json={"markdown": text}).ok
    clone = _fresh(wiki)
    write(clone, "Rewritten.md", "history rewritten\n")
    commit_all(wiki, clone, "on top")
    wiki.git("reset", "--quiet", "--soft", "HEAD~2", cwd=clone)
    wiki.git("commit", "--quiet", "-m", "squashed", cwd=clone)
    before = wiki.head()
    push(wiki, clone, "--force", "origin", "HEAD:main")
    after = wiki.head()
    assert after != before
    # The wiki's commits stay; the squashed commit comes in beside them, by a merge.
    assert subprocess.run(["git", "--git-dir", str(wiki.repo), "merge-base", "--is-ancestor",
                           before, after]).returncode == 0
    assert wiki.api("GET", "pages/Rewritten").json()["markdown"] == "history rewritten\n"
    assert wiki.api("GET", "pages/Forced").json()["markdown"] == "second\n"
    assert wiki.fsck_ok()


def test_push_refuses_deletion_and_other_refs(wiki):
    clone = _fresh(wiki)
    write(clone, "Other refs.md", "not for other branches\n")
    commit_all(wiki, clone, "on top")
    before = wiki.head()
    # git itself refuses: a push never sees the wiki's branch, so there is nothing to delete.
    deleted = push(wiki, clone, "origin", ":main", check=False)
    assert deleted.returncode != 0 and wiki.head() == before
    _refused(wiki, clone, "origin", "HEAD:refs/heads/feature",
             user_message=b"only refs/heads/main can be pushed")
    wiki.git("tag", "v1", cwd=clone)
    _refused(wiki, clone, "origin", "refs/tags/v1", user_message=b"only refs/heads/main")
    remote_refs = wiki.git("ls-remote", wiki.clone_url("alice"), cwd=clone).stdout.decode()
    assert [line.split("\t")[1] for line in remote_refs.splitlines()] == ["HEAD",
                                                                           "refs/heads/main"]
    assert not _refs(wiki, "refs/namespaces/")


def test_push_refused_for_readers_and_anonymous(wiki):
    clone = wiki.clone("rita")  # a reader may clone
    write(clone, "Reader.md", "no\n")
    commit_all(wiki, clone, "reader edit")
    _refused(wiki, clone, user_message=b"may read the wiki but not change it")
    before = wiki.head()
    anonymous = push(wiki, clone, wiki.clone_url(), "HEAD:main", check=False)
    assert anonymous.returncode != 0 and wiki.head() == before


def _refs(wiki: GitWiki, prefix: str) -> list[str]:
    return subprocess.run(["git", "--git-dir", str(wiki.repo), "for-each-ref",
                           "--format=%(refname)", prefix], capture_output=True, text=True,
                          check=True).stdout.split()


def test_a_push_that_is_behind_is_merged_with_the_web_edits(wiki):
    assert wiki.api("PUT", "pages/Behind/Pushed", json={"markdown": "one\n"}).ok
    assert wiki.api("PUT", "pages/Behind/Web", json={"markdown": "one\n"}).ok
    clone = wiki.clone("alice")
    write(clone, "Behind/Pushed.md", "one\npushed offline\n")
    commit_all(wiki, clone, "offline work")
    pushed = wiki.git("rev-parse", "HEAD", cwd=clone).stdout.decode().strip()
    assert wiki.api("PUT", "pages/Behind/Web", user="bob",
                    json={"markdown": "one\nsaved on the web\n"}).ok
    web_head = wiki.head()

    result = push(wiki, clone, "origin")  # a plain `git push`, without pulling first
    assert b"Kennis merged your push with 1 change saved on the wiki" in result.stderr

    assert wiki.api("GET", "pages/Behind/Pushed").json()["markdown"] == "one\npushed offline\n"
    assert wiki.api("GET", "pages/Behind/Web").json()["markdown"] == "one\nsaved on the web\n"
    merge = wiki.head()
    parents = wiki.git("--git-dir", str(wiki.repo), "rev-list", "--parents", "-n1", merge
                       ).stdout.decode().split()
    assert parents == [merge, web_head, pushed]
    author, message = wiki.git("--git-dir", str(wiki.repo), "log", "-1", "--format=%an%n%B",
                               merge).stdout.decode().split("\n", 1)
    assert author == "alice"  # the pusher's account, not the commits' author (Ann Power)
    assert "push with web edits" in message
    assert not _refs(wiki, "refs/namespaces/")  # the push's own ref is gone

    wiki.git("pull", "--quiet", "--no-rebase", "origin", "main", cwd=clone)
    assert wiki.git("rev-parse", "HEAD", cwd=clone).stdout.decode().strip() == merge
    assert (clone / "Behind/Web.md").read_text() == "one\nsaved on the web\n"
    assert wiki.fsck_ok()


def test_a_push_that_conflicts_with_web_edits_is_refused_naming_the_page(wiki):
    assert wiki.api("PUT", "pages/Behind/Shared", json={"markdown": "a\nb\nc\n"}).ok
    clone = wiki.clone("alice")
    write(clone, "Behind/Shared.md", "a\nb from git\nc\n")
    write(clone, "Behind/Other.md", "clean on its own\n")
    commit_all(wiki, clone, "conflicting work")
    assert wiki.api("PUT", "pages/Behind/Shared", user="bob",
                    json={"markdown": "a\nb from the web\nc\n"}).ok
    before = wiki.head()
    _refused(wiki, clone, "origin", user_message=b"Behind/Shared: changed both by this push "
             b"and on the wiki")
    result = push(wiki, clone, "origin", check=False)
    assert b"git pull" in result.stderr
    assert wiki.head() == before
    assert wiki.api("GET", "pages/Behind/Shared").json()["markdown"] == "a\nb from the web\nc\n"
    assert wiki.api("GET", "pages/Behind/Other").status_code == 404
    assert not _refs(wiki, "refs/namespaces/")


def test_a_push_that_is_behind_is_checked_on_its_own_changes(wiki):
    owner = wiki.clone("alice")
    write(owner, "Private/Behind.md", "alice's page\n")
    commit_all(wiki, owner, "private page")
    push(wiki, owner)
    clone = wiki.clone("bob")  # bob reads Private but may not write it
    write(clone, "Private/Sneaked in.md", "bob's page\n")
    commit_all(wiki, clone, "bob writes where he may not")
    assert wiki.api("PUT", "pages/Behind/Elsewhere", json={"markdown": "web\n"}).ok
    _refused(wiki, clone, "origin", user_message=b"Private/Sneaked in.md: bob may not change "
             b"this path")

    # Web edits merged in are not the pusher's: alice's edit of a private page, saved
    # while bob's push was on its way, does not make bob's public change refused.
    clone = wiki.clone("bob")
    write(clone, "Behind/Bob.md", "bob's public page\n")
    commit_all(wiki, clone, "bob writes where he may")
    assert wiki.api("PUT", "pages/Private/Behind", json={"markdown": "alice again\n"}).ok
    push(wiki, clone, "origin")
    assert wiki.api("GET", "pages/Behind/Bob").json()["markdown"] == "bob's public page\n"
    assert wiki.api("GET", "pages/Private/Behind").json()["markdown"] == "alice again\n"


def test_pushes_land_while_a_page_is_saved_several_times_a_second(wiki):
    clone = wiki.clone("alice")
    stop = threading.Event()
    saves: list[int] = []

    def keep_saving():
        for number in range(150):  # about 2.5 a second until the pushes are done (< 60 s)
            if stop.is_set():
                break
            answer = wiki.api("PUT", "pages/Busy/Web", user="bob",
                              json={"markdown": f"save {number}\n"})
            saves.append(answer.status_code)
            time.sleep(0.3)

    saver = threading.Thread(target=keep_saving)
    saver.start()
    try:
        for number in range(3):
            write(clone, f"Busy/Push {number}.md", f"pushed {number}\n")
            commit_all(wiki, clone, f"busy push {number}")
            wiki.git("pull", "--quiet", "--rebase", "origin", "main", cwd=clone)
            result = push(wiki, clone, "origin", check=False)
            assert result.returncode == 0, result.stderr.decode(errors="replace")
    finally:
        stop.set()
        saver.join()
    assert saves and set(saves) <= {200, 201}
    for number in range(3):
        assert wiki.api("GET", f"pages/Busy/Push {number}").json()["markdown"] == \
            f"pushed {number}\n"
    assert wiki.api("GET", "pages/Busy/Web").json()["markdown"] == f"save {len(saves) - 1}\n"
    assert wiki.fsck_ok()


def test_web_saves_and_pushes_racing_both_kept(wiki):
    clone = wiki.clone("alice")
    rounds = 4
    for number in range(rounds):
        base = wiki.api("GET", "pages/Home").json()["revision"]
        write(clone, f"Race/Push {number}.md", f"pushed {number}\n")
        commit_all(wiki, clone, f"push {number}")
        barrier = threading.Barrier(2)
        saved = {}

        def web_save(number=number, base=base, barrier=barrier, saved=saved):
            barrier.wait()
            saved["answer"] = wiki.api("PUT", f"pages/Race/Web {number}",
                                       json={"markdown": f"web {number}\n",
                                             "base_revision": base})

        thread = threading.Thread(target=web_save)
        thread.start()
        barrier.wait()
        result = push(wiki, clone, check=False)
        thread.join()
        assert saved["answer"].status_code in (200, 201), saved["answer"].text
        for _attempt in range(5):  # a push that lost the race is pulled and pushed again
            if result.returncode == 0:
                break
            wiki.git("pull", "--quiet", "--rebase", "origin", "main", cwd=clone)
            result = push(wiki, clone, check=False)
        assert result.returncode == 0, result.stderr
        wiki.git("pull", "--quiet", "--rebase", "origin", "main", cwd=clone)
    for number in range(rounds):
        assert wiki.api("GET", f"pages/Race/Push {number}").json()["markdown"] == \
            f"pushed {number}\n"
        assert wiki.api("GET", f"pages/Race/Web {number}").json()["markdown"] == \
            f"web {number}\n"
    assert wiki.fsck_ok()


def test_wiki_check_reports_the_repository_settings_and_hook(wiki):
    result = run_wiki(wiki.home, "check")
    assert "All good" in result.stdout


def test_a_gzip_request_body_is_inflated_by_http_backend(wiki):
    import gzip

    want = f"want {wiki.head()}\n"
    body = f"{len(want) + 4:04x}{want}00000009done\n".encode()
    answer = requests.post(f"{wiki.url}/wiki.git/git-upload-pack", data=gzip.compress(body),
                           auth=("alice", PASSWORDS["alice"]), timeout=30,
                           headers={"Content-Type": "application/x-git-upload-pack-request",
                                    "Content-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/x-git-upload-pack-result"
    assert b"PACK" in answer.content


def test_footer_and_help_page_show_the_clone_url(wiki):
    page = wiki.page("wiki/Help/Git")
    assert page.status_code == 200
    assert f"git clone {wiki.url}/wiki.git" in page.text
    assert "read access to every page" in page.text
    assert "credential.helper" in page.text
