"""Owners, verification, flags, reminders and reports through the web and the API."""

from datetime import date, timedelta

import pytest

from tests.conftest import PASSWORD, post_form

OWNED = "---\nowner: user:bob\nreview_every: 6 months\n---\n# Leave\n\nTwenty days.\n"


@pytest.fixture
def wiki(app):
    return app.extensions["kennis"]


def later(wiki, days):
    """Move the wiki's clock `days` ahead."""
    start = date.today()
    wiki.freshness._today = lambda: start + timedelta(days=days)


def login(client, name):
    client.get("/login")
    post_form(client, "/login", {"name": name, "password": PASSWORD})


def test_page_api_tells_owner_review_date_and_freshness(client, make_page, token):
    make_page("Leave", OWNED)
    page = client.get("/api/v1/pages/Leave",
                      headers={"Authorization": f"Bearer {token('reader')}"}).get_json()
    review_by = date.fromisoformat(page["review_by"])
    assert page["owner"] == "user:bob" and page["verified"] is None
    assert page["freshness"] == "current" and review_by > date.today() + timedelta(days=170)


def test_an_overdue_page_shows_the_banner_and_its_owner_verifies_it(app, client, wiki,
                                                                     make_page):
    make_page("Leave", OWNED)
    later(wiki, 200)
    login(client, "reader")
    text = client.get("/wiki/Leave").get_data(as_text=True)
    assert "This page was due for review on" in text
    assert "Mark as verified" not in text  # a reader is not the owner
    login(client, "bob")
    assert "Mark as verified" in client.get("/wiki/Leave").get_data(as_text=True)
    assert post_form(client, "/verify/Leave").status_code == 302
    source = wiki.repo.read_blob(wiki.catalog.page("Leave").blob).decode()
    verified_on = (date.today() + timedelta(days=200)).isoformat()
    assert source == OWNED.replace("---\n#", f"verified_by: bob\nverified_on: {verified_on}\n"
                                   "---\n#")
    text = client.get("/wiki/Leave").get_data(as_text=True)
    assert "This page was due for review" not in text
    assert "Verified by bob on" in text


def test_dutch_banner(client, wiki, make_page):
    make_page("Leave", OWNED)
    later(wiki, 200)
    login(client, "reader")
    text = client.get("/wiki/Leave", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert "Deze pagina had herzien moeten worden op" in text


def test_verify_refuses_who_is_not_the_owner_and_writes_nothing(client, wiki, make_page, token):
    make_page("Leave", OWNED)
    head = wiki.repo.head()
    answer = client.post("/api/v1/verify/Leave",
                         headers={"Authorization": f"Bearer {token('editor')}"})
    assert answer.status_code == 403
    assert wiki.repo.head() == head
    answer = client.post("/api/v1/verify/Leave",
                         headers={"Authorization": f"Bearer {token('bob')}"})
    assert answer.status_code == 200 and answer.get_json()["revision"] == wiki.repo.head()


def test_group_members_and_admins_may_verify(client, wiki, make_page, token):
    wiki.acl.add_members("hr", ["editor"], actor="test")
    make_page("Leave", OWNED.replace("user:bob", "group:hr"))
    for who in ("editor", "admin"):
        answer = client.post("/api/v1/verify/Leave",
                             headers={"Authorization": f"Bearer {token(who)}"})
        assert answer.status_code == 200, who


@pytest.mark.parametrize("front, message", [
    ("owner: user:nobody", "There is no user nobody"),
    ("owner: eva", "An owner is"),
    ("review_every: soon", "A review interval"),
])
def test_bad_owner_or_interval_is_refused_with_nothing_written(client, wiki, token, front,
                                                               message):
    head = wiki.repo.head()
    answer = client.put("/api/v1/pages/Bad", json={"markdown": f"---\n{front}\n---\nx\n"},
                        headers={"Authorization": f"Bearer {token('editor')}"})
    assert answer.status_code == 400 and message in answer.get_json()["error"]["message"]
    assert wiki.repo.head() == head


def test_a_flag_reaches_the_owner_and_closes_on_edit_telling_the_flagger(
        client, wiki, make_page, token):
    make_page("Leave", OWNED)
    reader = {"Authorization": f"Bearer {token('reader')}"}
    answer = client.post("/api/v1/flag/Leave", json={"reason": "It is 25 days now."},
                         headers=reader)
    assert answer.status_code == 201
    bob = wiki.users.by_name("bob")
    assert [(i.kind, i.summary) for i in wiki.notify.inbox(bob)][0] == \
        ("flag", "It is 25 days now.")
    assert [f.reason for f in wiki.freshness.open_flags(bob, "Leave")] == ["It is 25 days now."]
    assert wiki.freshness.open_flags(wiki.users.by_name("reader"), "Leave") == []
    make_page("Leave", OWNED.replace("Twenty", "Twenty-five"), user="bob")
    assert wiki.freshness.open_flags(bob, "Leave") == []
    told = wiki.notify.inbox(wiki.users.by_name("reader"))
    assert [(i.kind, i.actor) for i in told][0] == ("flag_closed", "bob")


@pytest.mark.parametrize("reason", ["", "   ", "x" * 5000])
def test_bad_reasons_are_refused(client, wiki, make_page, token, reason):
    make_page("Leave", OWNED)
    answer = client.post("/api/v1/flag/Leave", json={"reason": reason},
                         headers={"Authorization": f"Bearer {token('reader')}"})
    assert answer.status_code == 400
    assert wiki.freshness.open_flags(wiki.users.by_name("bob"), "Leave") == []


def test_a_page_going_overdue_reaches_its_owner_once_grouped(wiki, make_page):
    make_page("Leave", OWNED)
    make_page("Travel", OWNED.replace("Leave", "Travel"))
    make_page("Other", OWNED.replace("user:bob", "user:editor"))
    later(wiki, 200)
    assert wiki.freshness.remind() == 2  # bob once for both pages, editor once
    assert wiki.freshness.remind() == 0
    items = [i for i in wiki.notify.inbox(wiki.users.by_name("bob")) if i.kind == "review"]
    assert len(items) == 1 and "Leave" in items[0].summary and "Travel" in items[0].summary


def test_namespace_default_gives_pages_an_owner(wiki, make_page, token, client):
    make_page("Team/Plan", "# Plan\n")
    admin = wiki.users.by_name("admin")
    assert wiki.freshness.of(admin, "Team/Plan").state == "unowned"
    wiki.freshness.set_default(admin, "Team", "user:bob", "1 year")
    fresh = wiki.freshness.of(admin, "Team/Plan")
    assert fresh.owner == "user:bob" and fresh.state == "current"
    login(client, "editor")
    assert post_form(client, "/admin/reviews", {"prefix": "X", "owner": "user:bob"}
                     ).status_code == 403


def test_reports(client, make_page, token):
    make_page("Leave", OWNED + "See [[Missing One]] and [[Travel]].\n")
    make_page("Travel", "# Travel\n[[Missing One]]\n")
    make_page("Lonely", "# Lonely\n")
    headers = {"Authorization": f"Bearer {token('reader')}"}
    links = client.get("/api/v1/reports/links", headers=headers).get_json()
    assert {"from": "Leave", "to": "Missing One"} in links["broken"]
    assert {"path": "Missing One", "links": 2} in links["wanted"]
    assert "Lonely" in links["orphans"] and "Travel" not in links["orphans"]
    report = client.get("/api/v1/reports/freshness?owner=user:bob", headers=headers).get_json()
    assert [p["path"] for p in report["pages"]] == ["Leave"]
    login(client, "reader")
    assert "Missing One" in client.get("/reports/links").get_data(as_text=True)
    assert "Leave" in client.get("/reports/freshness").get_data(as_text=True)


def test_hidden_pages_stay_out_of_reports_flags_and_answers(client, wiki, make_page, token):
    wiki.users.create("hrperson", PASSWORD, role="editor")
    wiki.acl.add_members("hr", ["hrperson"], actor="test")
    make_page("HR/Secret Plan", "---\nowner: user:hrperson\nreview_every: 1 week\n---\n"
              "[[HR/Wanted Secret]] [[Public]]\n", user="hrperson")
    make_page("Public", "# Public\n")
    wiki.acl.set_rule("HR", "group:hr", None, actor="test")
    later(wiki, 30)
    headers = {"Authorization": f"Bearer {token('editor')}"}
    for url in ("/api/v1/reports/freshness", "/api/v1/reports/freshness?prefix=HR",
                "/api/v1/reports/links", "/api/v1/reports/links?prefix=HR"):
        assert "Secret" not in client.get(url, headers=headers).get_data(as_text=True), url
    hidden = client.post("/api/v1/flag/HR/Secret Plan", json={"reason": "x"}, headers=headers)
    missing = client.post("/api/v1/flag/HR/Nothing", json={"reason": "x"}, headers=headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()
    assert client.post("/api/v1/verify/HR/Secret Plan", headers=headers).status_code == 404
    login(client, "editor")
    for url in ("/reports/freshness", "/reports/links", "/reports/freshness?prefix=HR"):
        assert "Secret" not in client.get(url).get_data(as_text=True), url
    # The owner sees it in theirs.
    hr = {"Authorization": f"Bearer {token('hrperson')}"}
    assert "Secret" in client.get("/api/v1/reports/freshness", headers=hr).get_data(as_text=True)
