"""Search through the test client: the search page, the header box, the JSON API with its
CORS headers, OpenSearch, and the read filter as users see it."""

import shutil
import time

import pytest

from wiki import config
from wiki.app import create_app


@pytest.fixture
def pages(make_page, app):
    make_page("Ops/Backups", "---\ntags: [ops]\n---\n# Backups\n\nThe nightly backup copies "
              "every database.\n")
    make_page("Ops/Restore", "# Restore\n\nRestore a database from the nightly copy.\n",
              user="bob")
    make_page("HR/Salaries", "---\ntags: [secret]\n---\n# Salaries\n\nNightly salary "
              "export.\n")
    services = app.extensions["kennis"]
    services.acl.set_rule("HR", "group:hr", None, actor="t")
    services.acl.add_members("hr", ["bob"], actor="t")


def test_search_page_shows_count_snippets_and_facets(client, auth, pages):
    auth.login("reader")
    response = client.get("/search?q=nightly")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "2 results" in text
    assert "<mark>nightly</mark>" in text
    assert "Backups" in text and "Restore" in text
    assert "Salaries" not in text and "secret" not in text  # HR is hidden from reader
    assert 'href="/search?q=nightly&amp;tag=ops"' in text  # a tag facet narrows the search
    narrowed = client.get("/search?q=nightly&tag=ops").get_data(as_text=True)
    assert "1 result" in narrowed and "Restore" not in narrowed


def test_search_page_sorts_pages_and_suggests(client, auth, pages, make_page):
    time.sleep(1.1)  # commit dates have whole seconds
    make_page("Ops/Latest", "# Latest\n\nA page that says database once among other words.\n")
    auth.login("reader")
    relevant = client.get("/search?q=database").get_data(as_text=True)
    assert relevant.index("Ops/Backups") < relevant.index("Ops/Latest")
    newest_first = client.get("/search?q=database&sort=date").get_data(as_text=True)
    assert newest_first.index("Ops/Latest") < newest_first.index("Ops/Backups")
    typo = client.get("/search?q=databse").get_data(as_text=True)
    assert "Did you mean" in typo and "database" in typo


def test_every_page_has_a_search_box_and_opensearch(client, auth, pages):
    auth.login("reader")
    page = client.get("/wiki/Ops/Backups").get_data(as_text=True)
    assert 'role="search"' in page and 'name="q"' in page
    assert 'type="application/opensearchdescription+xml"' in page
    description = client.get("/opensearch.xml")
    assert description.mimetype == "application/opensearchdescription+xml"
    body = description.get_data(as_text=True)
    assert "/search?q={searchTerms}" in body and "/api/v1/search/suggest?q={searchTerms}" in body


def test_anonymous_visitors_log_in_first(client, pages):
    assert client.get("/search?q=nightly").status_code == 302
    assert client.get("/api/v1/search?q=nightly").status_code == 401
    assert client.get("/api/v1/search/suggest?q=ni").status_code == 401


def test_api_search_returns_what_the_caller_may_read(client, token, pages):
    reader = {"Authorization": f"Bearer {token('reader')}"}
    body = client.get("/api/v1/search?q=nightly", headers=reader).get_json()
    assert body["total"] == 2 and body["suggestion"] is None
    result = body["results"][0]
    assert set(result) >= {"path", "title", "snippet", "score", "updated", "kind"}
    assert result["kind"] == "page" and "<mark>" in result["snippet"]
    assert {r["path"] for r in body["results"]} == {"Ops/Backups", "Ops/Restore"}
    assert [f["value"] for f in body["facets"]["tag"]] == ["ops"]
    member = {"Authorization": f"Bearer {token('bob')}"}
    everything = client.get("/api/v1/search?q=nightly", headers=member).get_json()
    assert everything["total"] == 3
    paged = client.get("/api/v1/search?q=nightly&limit=1&offset=1", headers=member).get_json()
    assert paged["total"] == 3 and len(paged["results"]) == 1
    filtered = client.get("/api/v1/search?q=nightly&prefix=HR", headers=reader).get_json()
    assert filtered == {**filtered, "total": 0, "results": []}
    bad = client.get("/api/v1/search?q=x&limit=0", headers=reader)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_input"


def test_api_suggest_speaks_opensearch(client, token, pages):
    reader = {"Authorization": f"Bearer {token('reader')}"}
    body = client.get("/api/v1/search/suggest?q=back", headers=reader).get_json()
    assert body[0] == "back" and body[1] == ["Backups"] and body[2] == ["Ops/Backups"]
    assert body[3][0].endswith("/wiki/Ops/Backups")
    hidden = client.get("/api/v1/search/suggest?q=sal", headers=reader).get_json()
    assert hidden == ["sal", [], [], []]


def test_api_answers_configured_portal_origins(settings, services, pages, token):
    portal = "https://portal.example.org"
    app = create_app(config.load(settings.home, environ={}, cors_origins=portal))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token('reader')}", "Origin": portal}
    response = client.get("/api/v1/search?q=nightly", headers=headers)
    assert response.headers["Access-Control-Allow-Origin"] == portal
    assert client.get("/opensearch.xml", headers={"Origin": portal}) \
        .headers["Access-Control-Allow-Origin"] == portal
    other = client.get("/api/v1/search?q=nightly",
                       headers={**headers, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    app.extensions["kennis"].db.dispose()


def test_a_missing_index_is_rebuilt_without_an_error(client, auth, pages, settings):
    auth.login("reader")
    assert "2 results" in client.get("/search?q=nightly").get_data(as_text=True)
    shutil.rmtree(settings.index)
    response = client.get("/search?q=nightly")
    assert response.status_code == 200 and "2 results" in response.get_data(as_text=True)


def test_a_page_saved_over_http_is_found_by_the_next_search_in_every_worker(
        client, token, pages, settings):
    editor = {"Authorization": f"Bearer {token('editor')}"}
    assert client.get("/api/v1/search?q=nightly", headers=editor).get_json()["total"] == 2
    second = create_app(config.load(settings.home, environ={})).test_client()  # another worker
    for name, word in (("Ops/Tapes/Rotation", "kingfisher"), ("Ops/Tapes/Vault", "cormorant")):
        saved = client.put(f"/api/v1/pages/{name}", headers=editor,
                           json={"markdown": f"# {name}\n\nThe {word} tape.\n"})
        assert saved.status_code == 201
        for worker in (client, second):
            body = worker.get(f"/api/v1/search?q={word}", headers=editor).get_json()
            assert [r["path"] for r in body["results"]] == [name]
    second.application.extensions["kennis"].search.flush()
    second.application.extensions["kennis"].db.dispose()


@pytest.fixture
def talk(app, pages):
    """A thread and a file on a readable page and on the hidden HR/Salaries."""
    services = app.extensions["kennis"]
    bob = services.users.by_name("bob")
    services.search.search(bob, "nightly")  # the index exists: threads follow by listener
    for page in ("Ops/Backups", "HR/Salaries"):
        thread = services.discussions.start(bob, page, f"Tape rotation {page}",
                                            "Who swaps the walrus tapes?")
        services.attachments.upload(bob, page, "walrus-plan.txt", b"Walrus tape schedule.")
    return thread.thread.id  # the hidden one


def test_search_page_shows_threads_and_files_with_their_page(client, auth, talk):
    auth.login("reader")
    text = client.get("/search?q=walrus").get_data(as_text=True)
    assert "2 results" in text
    assert 'href="/thread/' in text and "Tape rotation Ops/Backups" in text
    assert 'href="/file/Ops/Backups/walrus-plan.txt"' in text and "walrus-plan.txt" in text
    assert text.count('href="/wiki/Ops/Backups"') >= 2  # each hit names its page
    assert "Salaries" not in text and f"/thread/{talk}" not in text
    assert 'href="/search?q=walrus&amp;kind=discussion"' in text  # the kind facet narrows
    only = client.get("/search?q=walrus&kind=attachment").get_data(as_text=True)
    assert "1 result" in only and "/thread/" not in only
    assert "2 results" in client.get("/search?q=walrus&kind=nonsense").get_data(as_text=True)


def test_api_search_by_kind_never_shows_a_hidden_page_s_threads_or_files(client, token, talk):
    reader = {"Authorization": f"Bearer {token('reader')}"}
    body = client.get("/api/v1/search?q=walrus", headers=reader).get_json()
    assert body["total"] == 2
    assert {r["kind"] for r in body["results"]} == {"discussion", "attachment"}
    assert {r["path"] for r in body["results"]} == {"Ops/Backups"}
    urls = {r["kind"]: r["url"] for r in body["results"]}
    assert urls["attachment"].endswith("/file/Ops/Backups/walrus-plan.txt")
    assert "/thread/" in urls["discussion"] and not urls["discussion"].endswith(f"/thread/{talk}")
    assert all(r["page_url"].endswith("/wiki/Ops/Backups") for r in body["results"])
    assert {f["value"]: f["count"] for f in body["facets"]["kind"]} == \
        {"discussion": 1, "attachment": 1}
    threads = client.get("/api/v1/search?q=walrus&kind=discussion", headers=reader).get_json()
    assert [r["kind"] for r in threads["results"]] == ["discussion"]
    assert client.get("/api/v1/search?q=walrus&kind=secret", headers=reader).status_code == 400
    member = {"Authorization": f"Bearer {token('bob')}"}
    everything = client.get("/api/v1/search?q=walrus", headers=member).get_json()
    assert everything["total"] == 4
    assert {r["path"] for r in everything["results"]} == {"Ops/Backups", "HR/Salaries"}
