"""Restricted namespaces: one policy, obeyed on every route.

The walker visits every registered route as a user outside the restricted namespace and
fails if anything reveals the hidden page: its text, its name in lists, its tags, its
existence (a hidden page must answer exactly like a missing one).
"""

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import PASSWORD, csrf

SECRET = "HR/Secret Plan"
MISSING = "HR/Nothing Here"
MARKERS = ("ZEBRA-SECRET", "Secret Plan", "secret-tag", "Secret%20Plan")


@pytest.fixture
def restricted(app, make_page):
    services = app.extensions["kennis"]
    services.users.create("hrperson", PASSWORD, role="editor")
    services.acl.add_members("hr", ["hrperson"], actor="test")
    make_page(SECRET, "---\ntags: [secret-tag]\n---\n# Secret Plan\n\nZEBRA-SECRET, see "
                      "[[Public]].\n", user="hrperson")
    make_page(SECRET, "---\ntags: [secret-tag]\n---\n# Secret Plan\n\nZEBRA-SECRET v2, see "
                      "[[Public]].\n", user="hrperson")
    make_page("Public", "Everyone reads this. Link: [[HR/Secret Plan]].\n")
    services.acl.set_rule("HR", "group:hr", None, actor="test")
    hr = services.users.by_name("hrperson")  # a question in HR (issue 18) and its answer
    asked = services.questions.ask(hr, "HR", "Secret Plan question", "ZEBRA-SECRET asked")
    services.questions.answer(hr, asked.id, "ZEBRA-SECRET answered")
    soon = datetime.now(UTC) + timedelta(days=1)
    services.events.create(services.users.by_name("hrperson"), {
        "namespace": "HR", "title": "Secret Plan review", "description": "ZEBRA-SECRET",
        "start": soon.isoformat(), "end": (soon + timedelta(hours=1)).isoformat()})
    services.updates.post(services.users.by_name("hrperson"), "Secret Plan #secret-tag ZEBRA",
                          "HR")
    history = services.catalog.history(SECRET)
    return {"revision": history[0].revision, "old": history[1].revision}


def login(client, name):
    client.get("/login")
    assert client.post("/login", data={"name": name, "password": PASSWORD,
                                       "csrf_token": csrf(client)}).status_code == 302


def substitute(rule, name, revision):
    values = {"name": name, "path": name, "revision": revision, "prefix": "HR",
              "tag": "secret-tag", "token": "x" * 20, "filename": "style.css"}
    url = rule.rule
    for arg in rule.arguments:
        url = re.sub(rf"<(?:[a-z]+:)?{arg}>", values[arg], url)
    return url


def leaks(text: str) -> list[str]:
    return [m for m in MARKERS if m in text]


LISTS = ["/index", "/index/HR", "/recent", "/recent.atom", "/tags", "/activity",
         "/activity.atom", "/search?q=ZEBRA", "/search?q=secret", "/api/v1/search?q=ZEBRA",
         "/api/v1/search/suggest?q=Secret",
         "/backlinks/Public", "/api/v1/pages", "/api/v1/pages?prefix=HR",
         "/tree", "/tree/HR", "/tree?open=HR/Secret Plan", "/wiki/Home",
         "/reports/freshness", "/reports/freshness?prefix=HR", "/reports/links",
         "/reports/links?prefix=HR", "/api/v1/reports/freshness",
         "/api/v1/reports/freshness?prefix=HR", "/api/v1/reports/links",
         "/api/v1/reports/links?prefix=HR",
         "/questions", "/questions?show=open", "/api/v1/questions",
         "/api/v1/questions?prefix=HR", "/api/v1/search?q=ZEBRA&kind=question",
         "/calendar", "/calendar.ics", "/api/v1/events", "/api/v1/events?prefix=HR",
         "/api/v1/updates", "/api/v1/updates?prefix=HR", "/api/v1/updates?tag=secret-tag",
         "/updates", "/updates?prefix=HR"]


def test_every_route_hides_the_restricted_page(app, client, restricted):
    login(client, "editor")
    seen = set()
    for rule in app.url_map.iter_rules():
        seen.add(rule.endpoint)
        if "GET" not in rule.methods:
            continue
        if not ({"name", "path"} & set(rule.arguments)):
            if rule.arguments and rule.arguments <= {"prefix", "tag"}:  # namespace listings
                listing = client.get(substitute(rule, SECRET, restricted["revision"]))
                assert "ZEBRA" not in listing.get_data(as_text=True), rule.rule
                assert "Secret Plan" not in listing.get_data(as_text=True), rule.rule
            continue
        hidden = client.get(substitute(rule, SECRET, restricted["revision"]))
        missing = client.get(substitute(rule, MISSING, "ab" * 20))
        assert hidden.status_code == missing.status_code, rule.rule
        assert hidden.status_code in (302, 404), rule.rule
        # Only what the reader typed may differ: the name, its last part, its search words.
        same = hidden.get_data(as_text=True).replace(SECRET, "X")
        other = missing.get_data(as_text=True).replace(MISSING, "X")
        for typed in ("Secret%20Plan", "Secret+Plan", "Secret Plan"):
            same = same.replace(typed, "X")
        for typed in ("Nothing%20Here", "Nothing+Here", "Nothing Here"):
            other = other.replace(typed, "X")
        assert same == other, rule.rule
        assert "ZEBRA" not in hidden.get_data(as_text=True)
    for url in LISTS:
        response = client.get(url)
        assert response.status_code == 200, url
        assert leaks(response.get_data(as_text=True)) == [], url
    tagged = client.get("/tag/secret-tag").get_data(as_text=True)  # echoes the typed tag
    assert "Secret Plan" not in tagged and "ZEBRA" not in tagged
    tagged = client.get("/updates?tag=secret-tag").get_data(as_text=True)  # echoes it too
    assert "Secret Plan" not in tagged and "ZEBRA" not in tagged
    # Public's own text names the page (its author wrote the link); that the page exists
    # must not show: the link looks like one to a missing page.
    public = client.get("/wiki/Public").get_data(as_text=True)
    assert 'class="wikilink missing" href="/edit/HR/Secret%20Plan"' in public
    assert "ZEBRA" not in public
    # Every route was considered: a new route must be added to this walk (or to LISTS).
    assert {"pages.view", "pages.history", "pages.diff", "pages.blame", "pages.raw",
            "pages.revision", "pages.backlinks", "browse.index", "browse.recent",
            "browse.feed", "browse.tags", "browse.tag", "api.list_pages", "api.history",
            "api.diff", "api.PageResource", "browse.tree",
            "freshness.report", "freshness.links",
            "api_freshness.freshness_report", "api_freshness.links_report",
            "questions.index"} <= seen


def test_writes_to_the_hidden_page_change_nothing(app, client, restricted):
    login(client, "editor")
    token = csrf(client)
    attempts = [
        (f"/edit/{SECRET}", {"markdown": "overwritten"}),
        (f"/edit/{MISSING}", {"markdown": "new page in HR"}),
        (f"/revert/{SECRET}", {"revision": restricted["old"]}),
        (f"/rename/{SECRET}", {"to": "Public Now"}),
        (f"/delete/{SECRET}", {}),
        (f"/restore/{SECRET}", {}),
        ("/rename/Public", {"to": "HR/Taken Over"}),
    ]
    for url, data in attempts:
        response = client.post(url, data={**data, "csrf_token": token})
        assert response.status_code == 404, url
    head = app.extensions["kennis"].repo.head()
    assert [r.message for r in app.extensions["kennis"].catalog.recent(limit=1)]
    hr = app.extensions["kennis"].users.by_name("hrperson")
    assert "ZEBRA-SECRET v2" in app.extensions["kennis"].pages.source(hr, SECRET).markdown
    assert app.extensions["kennis"].repo.head() == head


def test_api_hides_and_refuses(app, client, restricted, token):
    headers = {"Authorization": f"Bearer {token('editor')}"}
    for url in (f"/api/v1/pages/{SECRET}", f"/api/v1/history/{SECRET}",
                f"/api/v1/diff/{SECRET}"):
        hidden = client.get(url, headers=headers)
        missing = client.get(url.replace(SECRET, MISSING), headers=headers)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.get_json() == missing.get_json()
    assert client.put(f"/api/v1/pages/{SECRET}", json={"markdown": "x"},
                      headers=headers).status_code == 404
    assert client.delete(f"/api/v1/pages/{SECRET}", headers=headers).status_code == 404
    listing = client.get("/api/v1/pages?prefix=HR", headers=headers).get_json()
    assert listing == {"total": 0, "pages": []}


def test_members_see_and_change_it(client, restricted):
    login(client, "hrperson")
    assert "ZEBRA-SECRET v2" in client.get(f"/wiki/{SECRET}").get_data(as_text=True)
    assert "Secret Plan" in client.get("/index/HR").get_data(as_text=True)
    assert "secret-tag" in client.get("/tags").get_data(as_text=True)
    assert client.post(f"/edit/{SECRET}", data={"markdown": "changed by hr",
                                                "csrf_token": csrf(client)}).status_code == 302


def test_rules_change_at_once_and_write_can_be_narrower(app, client, restricted):
    services = app.extensions["kennis"]
    login(client, "editor")
    assert client.get(f"/wiki/{SECRET}").status_code == 404
    services.acl.set_rule("HR", "users", "group:hr", actor="test")  # all read, hr writes
    assert client.get(f"/wiki/{SECRET}").status_code == 200
    refused = client.post(f"/edit/{SECRET}", data={"markdown": "x", "csrf_token": csrf(client)})
    assert refused.status_code == 403
    services.acl.set_rule("HR/Secret Plan", "group:hr", None, actor="test")  # more specific
    assert client.get(f"/wiki/{SECRET}").status_code == 404
    services.acl.remove_rule("HR/Secret Plan", actor="test")
    assert client.get(f"/wiki/{SECRET}").status_code == 200


def test_anyone_opens_a_namespace_to_anonymous_visitors(app, client, make_page):
    app.extensions["kennis"].acl.set_rule("Open", "anyone", "users", actor="test")
    make_page("Open/Welcome", "Hello visitors.\n")
    assert "Hello visitors" in client.get("/wiki/Open/Welcome").get_data(as_text=True)
    assert client.get("/wiki/Home").status_code == 302  # the rest still needs a login
