"""Pages through the browser routes: what a user sees (status, text, redirects)."""

import pytest

from tests.conftest import post_form


def save(client, name, text, base="", message=""):
    return post_form(client, f"/edit/{name}", {"markdown": text, "base": base,
                                               "message": message})


def current_revision(app, name):
    return app.extensions["kennis"].pages.find(
        app.extensions["kennis"].users.by_name("admin"), name).revision


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/wiki/Home")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_anonymous_read_when_allowed(services, tmp_path):
    from wiki import config
    from wiki.app import create_app

    client = create_app(config.load(tmp_path, environ={}, anonymous_read=True)).test_client()
    response = client.get("/wiki/Home")
    assert response.status_code == 200
    assert "Welcome to Kennis" in response.get_data(as_text=True)
    assert client.get("/edit/Home").status_code == 302  # editing still needs a login


def test_login_wrong_password_is_refused_without_naming_the_account(client, auth):
    response = auth.login("editor", "wrong-password")
    assert response.status_code == 401
    unknown = auth.login("nobody-here", "wrong-password")
    assert unknown.status_code == 401
    assert response.get_data(as_text=True).count("not right") == 1
    assert "not right" in unknown.get_data(as_text=True)


def test_create_view_and_edit_a_page(client, auth):
    auth.login()
    response = save(client, "Team/Onboarding", "# Onboarding\n\nWelcome, see [[Home]].\n",
                    message="first version")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/wiki/Team/Onboarding")
    page = client.get("/wiki/Team/Onboarding").get_data(as_text=True)
    assert "Welcome, see" in page
    assert 'href="/wiki/Home"' in page
    assert "editor" in page  # footer: last editor and contributors


def test_missing_page_offers_to_create_it(client, auth):
    auth.login()
    response = client.get("/wiki/Does/Not/Exist")
    assert response.status_code == 404
    assert "/edit/Does/Not/Exist" in response.get_data(as_text=True)


def test_wikilink_to_missing_page_is_a_create_link(client, auth):
    auth.login()
    save(client, "Linker", "See [[Nowhere Yet]] and [[Home|home]].\n")
    html = client.get("/wiki/Linker").get_data(as_text=True)
    assert 'class="wikilink missing" href="/edit/Nowhere%20Yet"' in html
    assert 'class="wikilink" href="/wiki/Home"' in html


def test_names_are_case_insensitive_and_keep_their_spelling(client, auth):
    auth.login()
    save(client, "HR/Leave Policy", "Leave.\n")
    response = client.get("/wiki/hr/leave policy")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/wiki/HR/Leave%20Policy")
    save(client, "hr/LEAVE POLICY", "Leave, updated.\n")
    index = client.get("/index").get_data(as_text=True)
    assert index.count("Leave Policy") >= 1 and "LEAVE POLICY" not in index


@pytest.mark.parametrize("name", ["history", "edit", "Team/history", "api/v1/pages", "static/x"])
def test_page_names_that_look_like_actions_work(client, auth, name):
    auth.login()
    assert save(client, name, f"I am {name}.\n").status_code == 302
    assert f"I am {name}." in client.get(f"/wiki/{name}").get_data(as_text=True)
    assert client.get(f"/history/{name}").status_code == 200


@pytest.mark.parametrize("name", ["../etc/passwd", "a/../b", ".git/config", "a/.hidden",
                                  "bad\x01name", "bidi\u202ename", "back\\slash", "x" * 300])
def test_unsafe_names_are_refused_on_every_route(client, auth, name):
    auth.login()
    for url in (f"/wiki/{name}", f"/edit/{name}", f"/history/{name}", f"/raw/{name}",
                f"/diff/{name}", f"/blame/{name}", f"/backlinks/{name}"):
        assert client.get(url).status_code in (400, 404), url
    assert save(client, name, "x").status_code in (400, 404)


def test_bad_revisions_are_refused(client, auth):
    auth.login()
    for rev in ("--output=/tmp/x", "HEAD~1", "main", "x" * 70):
        assert client.get(f"/rev/{rev}/Home").status_code == 400
        assert client.get(f"/diff/Home?from={rev}").status_code == 400
    assert client.get("/rev/" + "ab" * 20 + "/Home").status_code == 404


def test_readers_cannot_edit(client, auth):
    auth.login("reader")
    assert client.get("/wiki/Home").status_code == 200
    assert client.get("/edit/Home").status_code == 403
    assert save(client, "Home", "vandalism").status_code == 403
    assert "vandalism" not in client.get("/raw/Home").get_data(as_text=True)


def test_forms_need_a_csrf_token(client, auth):
    auth.login()
    response = client.post("/edit/NoToken", data={"markdown": "x"})
    assert response.status_code == 400
    assert client.get("/wiki/NoToken").status_code == 404


def test_oversized_page_is_refused(client, auth, app):
    auth.login()
    limit = app.extensions["kennis"].settings.max_page_bytes
    response = save(client, "Huge", "a" * (limit + 1))
    assert response.status_code == 413
    assert client.get("/wiki/Huge").status_code == 404


def test_invalid_utf8_is_a_clear_error(client, auth):
    auth.login()
    from tests.conftest import csrf

    body = b"csrf_token=" + csrf(client).encode() + b"&markdown=\xff\xfebad"
    response = client.post("/edit/Bytes", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code in (200, 302, 400)
    if response.status_code == 302:  # replaced, never stored as broken bytes
        assert "\ufffd" in client.get("/raw/Bytes").get_data(as_text=True)


def test_pathological_markdown_renders(client, auth):
    auth.login()
    assert save(client, "Comments", "<!--" * 200_000).status_code == 302
    assert client.get("/wiki/Comments").status_code == 200
    assert save(client, "Quotes", ">" * 200_000).status_code == 302
    assert client.get("/wiki/Quotes").status_code == 200


def test_history_diff_and_old_revision(client, auth, app):
    auth.login()
    save(client, "Doc", "line one\nline two\n", message="first")
    first = current_revision(app, "Doc")
    save(client, "Doc", "line one\nline 2\n", base=first, message="second")
    second = current_revision(app, "Doc")
    history = client.get("/history/Doc").get_data(as_text=True)
    assert "first" in history and "second" in history
    diff = client.get(f"/diff/Doc?from={first}&to={second}").get_data(as_text=True)
    assert "<del>two</del>" in diff and "<ins>2</ins>" in diff
    side = client.get(f"/diff/Doc?from={first}&to={second}&mode=side")
    assert side.status_code == 200 and "diff-side" in side.get_data(as_text=True)
    old = client.get(f"/rev/{first[:12]}/Doc").get_data(as_text=True)
    assert "line two" in old and "old version" in old


def test_blame_names_the_author_of_each_line(client, auth, app, make_page):
    make_page("Shared", "alpha\n", user="bob")
    auth.login()
    save(client, "Shared", "alpha\nbeta\n", base=current_revision(app, "Shared"))
    html = client.get("/blame/Shared").get_data(as_text=True)
    assert "bob" in html and "editor" in html and "beta" in html


def test_revert_makes_a_new_commit(client, auth, app):
    auth.login()
    save(client, "R", "good\n")
    good = current_revision(app, "R")
    save(client, "R", "bad\n", base=good)
    response = post_form(client, "/revert/R", {"revision": good})
    assert response.status_code == 302
    assert client.get("/raw/R").get_data(as_text=True) == "good\n"
    assert len(app.extensions["kennis"].catalog.history("R")) == 3


def test_rename_follows_history_redirects_and_rewrites_links(client, auth):
    auth.login()
    save(client, "Old Name", "content\n", message="born")
    save(client, "Pointer", "See [[Old Name]] and [[old name|label]].\n")
    response = post_form(client, "/rename/Old Name", {"to": "Team/New Name", "rewrite": "1"})
    assert response.status_code == 302
    redirect = client.get("/wiki/Old Name")
    assert redirect.status_code == 301
    assert redirect.headers["Location"].endswith("/wiki/Team/New%20Name")
    history = client.get("/history/Team/New Name").get_data(as_text=True)
    assert "born" in history and "renamed from" in history
    source = client.get("/raw/Pointer").get_data(as_text=True)
    assert "[[Team/New Name]]" in source and "[[Team/New Name|label]]" in source


def test_rename_onto_an_existing_page_is_refused(client, auth):
    auth.login()
    save(client, "A", "a\n")
    save(client, "B", "b\n")
    assert post_form(client, "/rename/A", {"to": "b"}).status_code == 409
    assert client.get("/raw/B").get_data(as_text=True) == "b\n"


def test_delete_keeps_history_and_restore_brings_it_back(client, auth):
    auth.login()
    save(client, "Temp", "keep me\n")
    assert post_form(client, "/delete/Temp").status_code == 302
    gone = client.get("/wiki/Temp")
    assert gone.status_code == 404 and "Restore" in gone.get_data(as_text=True)
    assert client.get("/history/Temp").status_code == 200
    assert post_form(client, "/restore/Temp").status_code == 302
    assert client.get("/raw/Temp").get_data(as_text=True) == "keep me\n"


def test_backlinks_tags_index_recent_and_feed(client, auth):
    auth.login()
    save(client, "Target", "---\ntags: [hr, policy]\n---\n# Target page\n")
    save(client, "Source", "Links to [[Target]].\n")
    assert "Source" in client.get("/backlinks/Target").get_data(as_text=True)
    assert "Target page" in client.get("/tag/hr").get_data(as_text=True)
    assert "policy" in client.get("/tags").get_data(as_text=True)
    assert "Target page" in client.get("/index").get_data(as_text=True)
    recent = client.get("/recent").get_data(as_text=True)
    assert "Source" in recent and "Target" in recent
    feed = client.get("/recent.atom")
    assert feed.mimetype == "application/atom+xml"
    assert "<entry>" in feed.get_data(as_text=True)


def test_preview_renders_through_the_same_sanitizer(client, auth):
    auth.login()
    response = post_form(client, "/preview", {"markdown": "**bold** <script>x()</script>"})
    html = response.get_json()["html"]
    assert "<strong>bold</strong>" in html and "<script>" not in html


def test_html_responses_carry_security_headers(client, auth):
    auth.login()
    response = client.get("/wiki/Home")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_dutch_interface_from_the_browser_language(client, auth):
    auth.login()
    html = client.get("/recent", headers={"Accept-Language": "nl,en;q=0.5"}).get_data(
        as_text=True)
    assert "Recente wijzigingen" in html


def test_any_commit_of_the_wiki_shows_the_page_as_it_was_then(client, auth, app, make_page):
    first = make_page("Steady", "version one\n").revision
    later = make_page("Elsewhere", "unrelated\n").revision  # does not touch Steady
    make_page("Steady", "version two\n")
    auth.login()
    old = client.get(f"/rev/{later}/Steady").get_data(as_text=True)
    assert "version one" in old and "version two" not in old
    assert first != later


def test_another_worker_sees_every_change_at_once(app, settings, auth, make_page):
    """Two apps on one wiki stand for two worker processes with their own caches."""
    from tests.conftest import AuthActions
    from wiki.app import create_app

    other = create_app(settings).test_client()
    AuthActions(other).login()
    make_page("Seen", "first words, see [[Later]]\n")
    first = other.get("/wiki/Seen").get_data(as_text=True)
    assert "first words" in first and 'class="wikilink missing"' in first
    make_page("Seen", "second words, see [[Later]]\n")  # saved through the first worker
    assert "second words" in other.get("/wiki/Seen").get_data(as_text=True)
    make_page("Later", "now it exists\n")  # another page: the link is no longer missing
    assert 'class="wikilink missing"' not in other.get("/wiki/Seen").get_data(as_text=True)
    app.extensions["kennis"].catalog.rebuild()
    assert "second words" in other.get("/wiki/Seen").get_data(as_text=True)


def test_a_huge_diff_is_summed_up_not_drawn(client, auth, app, make_page):
    first = make_page("Big", "".join(f"old {i}\n" for i in range(6000))).revision
    second = make_page("Big", "".join(f"new {i}\n" for i in range(6000))).revision
    auth.login()
    html = client.get(f"/diff/Big?from={first}&to={second}").get_data(as_text=True)
    assert "too many lines" in html and "diff-inline" not in html
