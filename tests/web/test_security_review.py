"""Findings of the security review, each shown by what an attacker inside the intranet does.

Two of them are denials of service by CPU: a hostile page made a rename (holding the
repository write lock) or a diff run for minutes. The rename test carries a hang guard: the
fixed code answers in well under a second, the old one took from minutes to hours, so the
guard (far above either machine's noise) tells "finishes" from "hangs"; it is not a timing
measurement. The diff's time is measured in bench/diff_budget.py instead, and its budget
shown by tests/unit/test_diffs.py.
"""

import base64
import contextlib
import signal
import threading

import pytest
from sqlalchemy import update

from tests.conftest import PASSWORD, csrf, post_form
from wiki import config
from wiki.app import create_app
from wiki.db import User
from wiki.errors import InvalidInput, PageExists, RevisionNotFound

HANG_GUARD = 60  # seconds


@contextlib.contextmanager
def finishes(seconds: int = HANG_GUARD):
    def stop(*_):
        raise TimeoutError(f"still running after {seconds} s: the request hangs")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def login(client, name):
    client.get("/login")
    response = client.post("/login", data={"name": name, "password": PASSWORD,
                                           "csrf_token": csrf(client)})
    assert response.status_code == 302
    return response


# --- denial of service -------------------------------------------------------------------------

def test_renaming_with_link_rewriting_survives_a_hostile_page(app, client, make_page):
    """wiki/pages.py `_rewritten_links`: `\\[\\[\\s*(...+?)\\s*` backtracked cubically; 2,000
    spaces after an unclosed `[[` took 70 s, with the write lock held (no save anywhere)."""
    make_page("Target", "The page.\n")
    hostile = "[[" + " " * 20_000 + "no end\n"
    make_page("Links", f"See [[Target]], [[ target | its label ]] and [[Other]].\n{hostile}")
    login(client, "editor")
    with finishes():
        response = post_form(client, "/rename/Target", data={"to": "Moved", "rewrite": "1"})
    assert response.status_code == 302
    text = client.get("/raw/Links").get_data(as_text=True)
    assert "See [[Moved]], [[Moved| its label ]] and [[Other]]." in text
    assert hostile in text


def test_rewriting_changes_exactly_the_links_the_page_shows(app, client, make_page):
    make_page("Target", "The page.\n")
    make_page("Links", "[[Target|a]b]] [[x [[Target]] [[Target\n]] `[[Targets]]`\n")
    login(client, "editor")
    post_form(client, "/rename/Target", data={"to": "Moved", "rewrite": "1"})
    text = client.get("/raw/Links").get_data(as_text=True)
    assert text == "[[Moved|a]b]] [[x [[Moved]] [[Target\n]] `[[Targets]]`\n"


def _blocks(tag: str, count: int) -> str:
    """Blocks of short changed lines between unchanged unique lines: each block compared
    every line with every other line, word by word."""
    out = []
    for block in range(count):
        out.append(f"anchor {block}\n")
        out += [f"{tag}{k % 3}\n" for k in range(60)]
    return "".join(out)


def test_a_diff_of_many_small_changed_blocks_finishes(app, client, make_page):
    """wiki/diffs.py: 57 KB of such blocks took 25 s per diff request (any reader, again and
    again); 1,000 blocks (190 KB) take about 90 s without the budget of word comparisons.
    The time is measured in bench/diff_budget.py; tests/unit/test_diffs.py shows the budget."""
    make_page("Blocks", _blocks("x", 1000))
    make_page("Blocks", _blocks("y", 1000))
    login(client, "reader")
    response = client.get("/api/v1/diff/Blocks")
    assert response.status_code == 200
    unified = response.get_json()["unified"]
    assert unified.count("\n-x") == unified.count("\n+y") == 60_000  # every line still shown


def test_an_ordinary_diff_still_marks_the_changed_word(app, client, make_page):
    make_page("Words", "the quick brown fox\n" + _blocks("x", 3))
    make_page("Words", "the quick red fox\n" + _blocks("y", 3))
    login(client, "reader")
    html = client.get("/api/v1/diff/Words").get_json()["html"]
    assert "<del>brown</del>" in html and "<ins>red</ins>" in html


# --- numbers SQL cannot hold ---------------------------------------------------------------------

def test_huge_numbers_in_forms_and_addresses_are_no_server_error(app, client, make_page):
    """SQLite integers end at 2**63: a larger offset or id raised OverflowError (a 500)."""
    make_page("Public", "Text.\n")
    login(client, "editor")
    huge = str(10**25)
    assert client.get(f"/history/Public?offset={huge}").status_code == 200
    assert post_form(client, f"/tokens/revoke/{huge}").status_code == 404
    assert post_form(client, "/inbox", data={"id": huge}).status_code == 302


# --- email addresses ---------------------------------------------------------------------------

@pytest.mark.parametrize("email", ["me@example.org\r\nBcc: everyone@example.org",
                                   "me@example.org, boss@example.org",
                                   "Me <me@example.org>", "not an address"])
def test_an_email_address_is_one_plain_address(app, client, email):
    """It becomes a `To:` header and a git author email: no header lines, no more recipients."""
    login(client, "editor")
    response = post_form(client, "/settings", data={"language": "", "email": email,
                                                    "display_name": "Ed"})
    assert response.status_code == 400
    assert app.extensions["kennis"].users.by_name("editor").email == "editor@example.org"
    login(client, "admin")
    post_form(client, "/admin/users/create", data={"name": "mallory", "password": PASSWORD,
                                                   "role": "editor", "email": email})
    assert app.extensions["kennis"].users.by_name("mallory") is None


def test_a_plain_address_is_kept(app, client):
    login(client, "editor")
    response = post_form(client, "/settings", data={"language": "", "email": " ed@example.org ",
                                                    "display_name": "Ed"})
    assert response.status_code == 302
    assert app.extensions["kennis"].users.by_name("editor").email == "ed@example.org"


def test_a_stored_bad_address_does_not_break_commenting(app, tmp_path, make_page):
    """Addresses saved before they were checked: the email module's ValueError on a header
    line made every comment that notified that user a 500 (and stopped the digests)."""
    mailing = create_app(config.load(tmp_path, environ={}, smtp_host="127.0.0.1", smtp_port=1))
    mailing.config["TESTING"] = True
    try:
        services = mailing.extensions["kennis"]
        with services.db.session() as s:
            s.execute(update(User).where(User.name_key == "bob")
                      .values(email="bob@example.org\r\nBcc: everyone@example.org"))
        make_page("Public", "Text.\n")
        client = mailing.test_client()
        login(client, "editor")
        response = post_form(client, "/discussion/Public",
                             data={"title": "Hello", "body": "What do you think, @bob?"})
        assert response.status_code == 302
        assert services.notify.send_digests() == 0
    finally:
        mailing.extensions["kennis"].db.dispose()


# --- sessions and credentials ------------------------------------------------------------------

def test_a_form_token_from_before_login_is_refused_after_it(client):
    """A CSRF secret planted before login (a cookie set from a sibling intranet host, or the
    last user's on a shared computer) signed every form of the new session."""
    client.get("/login")
    before = csrf(client)
    login(client, "editor")
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400
    assert client.post("/logout", data={"csrf_token": csrf(client)}).status_code == 302


def _git(client, name, password, address):
    credentials = base64.b64encode(f"{name}:{password}".encode()).decode()
    response = client.get("/wiki.git/info/refs?service=git-upload-pack",
                          headers={"Authorization": f"Basic {credentials}"},
                          environ_base={"REMOTE_ADDR": address})
    response.close()  # a streamed answer from git: close it, or its pipe is left open
    return response.status_code


def test_git_passwords_cannot_be_guessed_from_many_addresses(make_app):
    """Git's HTTP Basic was limited per address only: from a fresh address each time (an
    IPv6 network has billions) one account's password could be guessed without end. Failures
    from all addresses together now count against the account (`login_limit_per_account_total`),
    so the right password from yet another new address is refused too."""
    client = make_app(login_limit_per_account_total="5/hour").test_client()
    for n in range(5):
        assert _git(client, "reader", "wrong-password", f"10.0.0.{n + 1}") == 401
    assert _git(client, "reader", PASSWORD, "10.0.1.1") == 429
    assert _git(client, "bob", "wrong-password", "10.0.1.2") == 401


# --- guards on what the review found in order ---------------------------------------------------

def test_search_snippets_and_titles_stay_escaped(app, client, make_page):
    make_page("Scripted", "---\ntitle: <img src=x onerror=alert(1)>\n---\n"
                          "Text <script>alert(1)</script> quokka <b onmouseover=x>here</b>.\n")
    login(client, "reader")
    found = client.get("/api/v1/search?q=quokka").get_json()["results"]
    assert found and "<script" not in found[0]["snippet"] and "<b " not in found[0]["snippet"]
    page = client.get("/search?q=quokka").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page


def test_a_page_renamed_out_of_a_hidden_namespace_keeps_its_past_there(app, client, auth):
    services = app.extensions["kennis"]
    admin, editor = services.users.by_name("admin"), services.users.by_name("editor")
    services.acl.set_rule("Secret", "user:admin", None, actor="admin")
    services.pages.save(admin, "Secret/Plan", "launch codes 1234\n")
    hidden = services.repo.head()
    services.pages.rename(admin, "Secret/Plan", "Public/Plan")
    services.pages.save(admin, "Public/Plan", "nothing to see\n")

    rows = services.pages.history(editor, "Public/Plan")
    assert [r.action for r in rows] == ["edit", "rename"]
    assert all(r.name == "Public/Plan" and "Secret" not in r.old_name for r in rows)
    with pytest.raises(RevisionNotFound):
        services.pages.source(editor, "Public/Plan", hidden)
    # (The rename itself published the text it moved: its revision is readable.)
    assert services.pages.renamed_to(editor, "Secret/Plan") is None
    assert "Secret" not in str([(r.name, r.old_name) for r in services.pages.recent(editor)])
    assert [r.action for r in services.pages.history(admin, "Public/Plan")][-1] == "create"

    auth.login("editor")
    assert client.get("/wiki/Secret/Plan").status_code == 404  # not a redirect
    assert client.get(f"/rev/{hidden}/Public/Plan").status_code == 404
    assert b"Secret" not in client.get("/history/Public/Plan").data


def test_blame_after_a_rename_out_of_a_hidden_namespace_hides_who_and_when(app, client, auth):
    services = app.extensions["kennis"]
    admin, editor = services.users.by_name("admin"), services.users.by_name("editor")
    services.acl.set_rule("Secret", "user:admin", None, actor="admin")
    services.pages.save(admin, "Secret/Plan", "written while hidden\n")
    hidden = services.repo.head()
    services.pages.rename(admin, "Secret/Plan", "Public/Plan")
    services.pages.save(editor, "Public/Plan", "written while hidden\nwritten in public\n")
    public = services.repo.head()

    _, lines = services.pages.blame(editor, "Public/Plan")
    assert [(line.text, line.revision) for line in lines] == [
        ("written while hidden", ""), ("written in public", public)]
    assert lines[0].author.name == "" and lines[0].date is None
    _, lines = services.pages.blame(admin, "Public/Plan")
    assert lines[0].revision == hidden  # the admin sees it all

    auth.login("editor")
    page = client.get("/blame/Public/Plan").get_data(as_text=True)
    assert "(earlier history not visible to you)" in page and hidden[:8] not in page


def test_a_rename_never_replaces_a_page_made_while_it_waited(app, monkeypatch):
    services = app.extensions["kennis"]
    editor = services.users.by_name("editor")
    services.pages.save(editor, "Old", "old text\n")
    services.pages.save(editor, "New", "a page someone made meanwhile\n")
    real, calls = services.catalog.page, []

    def page(name):  # the first look, before the lock, still misses the new page
        calls.append(name)
        return None if name == "New" and calls.count("New") == 1 else real(name)

    monkeypatch.setattr(services.catalog, "page", page)
    with pytest.raises(PageExists):
        services.pages.rename(editor, "Old", "New")
    monkeypatch.undo()
    assert services.pages.source(editor, "New").markdown == "a page someone made meanwhile\n"
    assert services.pages.source(editor, "Old").markdown == "old text\n"


def test_a_refused_settings_form_changes_nothing(app, client, auth):
    auth.login("editor")
    answer = post_form(client, "/settings", {"email": "new@example.org", "display_name": "New",
                                             "language": "nl", "password": "a-new-password",
                                             "current": "not the password"})
    assert answer.status_code == 400
    account = app.extensions["kennis"].users.by_name("editor")
    assert account.email == "editor@example.org" and account.display_name != "New"
    assert app.extensions["kennis"].users.authenticate("editor", PASSWORD)


def test_an_admin_made_account_keeps_the_address_as_typed_or_is_refused(app):
    services = app.extensions["kennis"]
    admin = services.users.by_name("admin")
    too_long = "a" * 250 + "@example.org"
    with pytest.raises(InvalidInput):
        services.admin.create_user(admin, "carol", PASSWORD, "editor", email=too_long)
    assert services.users.by_name("carol") is None


def test_the_same_group_membership_added_at_once_by_several_requests(app):
    services = app.extensions["kennis"]
    errors = []
    for round_ in range(10):  # a first sign-on through the proxy: parallel requests, one group
        start = threading.Barrier(4)

        def add(group=f"staff{round_}", start=start):
            start.wait()
            try:
                services.acl.add_members(group, ["bob"], actor="proxy")
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)

        threads = [threading.Thread(target=add) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert all(services.acl.groups()[f"staff{i}"] == ["bob"] for i in range(10))


def test_visitors_cannot_tell_hidden_thread_and_comment_ids_from_missing_ones(app, client):
    services = app.extensions["kennis"]
    editor = services.users.by_name("editor")
    services.acl.set_rule("Public", "anyone", None, actor="admin")  # visitors may read Public
    services.acl.set_rule("Secret", "user:editor", None, actor="admin")
    services.pages.save(editor, "Secret/Plan", "text\n")
    posted = services.discussions.start(editor, "Secret/Plan", "Plan", "Quiet.")
    thread, comment = posted.thread.id, posted.comment.id
    for existing, missing in ((f"/thread/{thread}", "/thread/999999"),
                              (f"/comment/{comment}/history", "/comment/999999/history")):
        seen, unseen = client.get(existing), client.get(missing)
        where = [(r.headers.get("Location") or "").split("?")[0] for r in (seen, unseen)]
        assert seen.status_code == unseen.status_code and where[0] == where[1], existing


def test_refused_text_comes_back_in_the_editor(app, client, auth, make_page):
    make_page("Plan", "Old.\n")
    auth.login("editor")
    answer = post_form(client, "/edit/Plan", {"markdown": "My long careful text.",
                                              "base": "not-a-revision"})
    assert answer.status_code == 400
    assert b"My long careful text." in answer.data and b'name="markdown"' in answer.data
    assert app.extensions["kennis"].pages.source(
        app.extensions["kennis"].users.by_name("editor"), "Plan").markdown == "Old.\n"


def test_tag_counts_with_and_without_rules_that_hide_pages(app):
    services = app.extensions["kennis"]
    editor, reader = services.users.by_name("editor"), services.users.by_name("reader")
    for name, tags in (("A", "hr, policy"), ("B", "hr"), ("HR/Pay", "hr, pay")):
        services.pages.save(editor, name, f"---\ntags: [{tags}]\n---\n# {name}\n")
    def mine(account):  # the starter pages have tags of their own
        return [(t, n) for t, n in services.pages.tags(account) if t in ("hr", "pay", "policy")]

    assert mine(reader) == [("hr", 3), ("pay", 1), ("policy", 1)]
    services.acl.set_rule("HR", "user:editor", None, actor="admin")
    assert mine(reader) == [("hr", 2), ("policy", 1)]
    assert mine(editor) == [("hr", 3), ("pay", 1), ("policy", 1)]
