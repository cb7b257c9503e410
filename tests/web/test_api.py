"""The pages API: every endpoint with good and bad input; errors are JSON, never 500."""

import pytest


@pytest.fixture
def api(client, token):
    value = token("editor")

    def call(method, url, **kwargs):
        headers = {"Authorization": f"Bearer {value}", **kwargs.pop("headers", {})}
        return client.open(url, method=method, headers=headers, **kwargs)

    return call


def test_openapi_document_describes_the_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/pages", "/api/v1/pages/{path}", "/api/v1/move/{path}",
                 "/api/v1/history/{path}", "/api/v1/diff/{path}"):
        assert path in spec["paths"], path


def test_create_read_update_page(api):
    created = api("PUT", "/api/v1/pages/Team/Api Page",
                  json={"markdown": "# Hello\n\nfrom the API\n", "message": "via api"})
    assert created.status_code == 201
    first = created.get_json()
    assert first["created"] is True and len(first["revision"]) == 40
    page = api("GET", "/api/v1/pages/team/api page").get_json()
    assert page["path"] == "Team/Api Page" and page["title"] == "Hello"
    assert "from the API" in page["markdown"] and "<h1" in page["html"]
    assert page["revision"] == first["revision"] and page["author"] == "editor"
    updated = api("PUT", "/api/v1/pages/Team/Api Page",
                  json={"markdown": "# Hello\n\nchanged\n", "base_revision": first["revision"]})
    assert updated.status_code == 200 and updated.get_json()["merged"] is False


def test_list_pages_with_prefix_and_paging(api):
    for name in ("Ns/A", "Ns/B", "Ns/C", "Other"):
        api("PUT", f"/api/v1/pages/{name}", json={"markdown": name})
    listing = api("GET", "/api/v1/pages?prefix=Ns&limit=2&offset=1").get_json()
    assert listing["total"] == 3
    assert [p["path"] for p in listing["pages"]] == ["Ns/B", "Ns/C"]


def test_concurrent_edits_merge_or_conflict(api, make_page):
    base = make_page("Shared", "a\n\nb\n\nc\n").revision
    make_page("Shared", "A by bob\n\nb\n\nc\n", user="bob")
    merged = api("PUT", "/api/v1/pages/Shared",
                 json={"markdown": "a\n\nb\n\nC by editor\n", "base_revision": base})
    assert merged.status_code == 200 and merged.get_json()["merged"] is True
    conflict = api("PUT", "/api/v1/pages/Shared",
                   json={"markdown": "mine\n\nb\n\nc\n", "base_revision": base})
    assert conflict.status_code == 409
    body = conflict.get_json()
    assert body["error"]["code"] == "edit_conflict"
    assert set(body["conflict"]) >= {"base", "theirs", "yours", "merged_with_markers"}
    assert "<<<<<<<" in body["conflict"]["merged_with_markers"]


def test_history_diff_move_delete(api):
    first = api("PUT", "/api/v1/pages/Moving", json={"markdown": "one\n"}).get_json()
    second = api("PUT", "/api/v1/pages/Moving", json={"markdown": "two\n"}).get_json()
    history = api("GET", "/api/v1/history/Moving").get_json()["revisions"]
    assert [r["revision"] for r in history] == [second["revision"], first["revision"]]
    diff = api("GET", f"/api/v1/diff/Moving?from={first['revision']}&to={second['revision']}")
    assert "-one" in diff.get_json()["unified"] and "+two" in diff.get_json()["unified"]
    moved = api("POST", "/api/v1/move/Moving", json={"to": "Moved"})
    assert moved.status_code == 200
    assert api("GET", "/api/v1/pages/Moved").status_code == 200
    assert len(api("GET", "/api/v1/history/Moved").get_json()["revisions"]) == 3
    assert api("DELETE", "/api/v1/pages/Moved").status_code == 204
    assert api("GET", "/api/v1/pages/Moved").status_code == 404


def test_errors_are_json_with_the_right_status(api, client, app):
    cases = [
        ("GET", "/api/v1/pages/Nope", {}, 404),
        ("GET", "/api/v1/pages/..%2Fetc", {}, 400),
        ("GET", "/api/v1/pages/a/../b", {}, 400),
        ("PUT", "/api/v1/pages/.git/config", {"json": {"markdown": "x"}}, 400),
        ("PUT", "/api/v1/pages/X", {"data": "{not json", "content_type": "application/json"},
         400),
        ("PUT", "/api/v1/pages/X", {"json": {"markdown": 5}}, 400),
        ("PUT", "/api/v1/pages/X", {"json": {}}, 400),
        ("PUT", "/api/v1/pages/X", {"json": ["markdown"]}, 400),
        ("PUT", "/api/v1/pages/X", {"json": {"markdown": "x", "base_revision": "--all"}}, 400),
        ("GET", "/api/v1/diff/Home?from=--output=/tmp/x", {}, 400),
        ("GET", "/api/v1/pages?limit=-1", {}, 400),
        ("GET", "/api/v1/pages?limit=abc", {}, 400),
        ("POST", "/api/v1/move/Nope", {"json": {"to": "Elsewhere"}}, 404),
        ("POST", "/api/v1/move/Home", {"json": {"to": "../x"}}, 400),
        ("DELETE", "/api/v1/pages/Nope", {}, 404),
        ("PATCH", "/api/v1/pages/Home", {}, 405),
    ]
    for method, url, kwargs, status in cases:
        response = api(method, url, **kwargs)
        assert response.status_code == status, (method, url, response.get_data(as_text=True))
        assert response.is_json and "message" in response.get_json()["error"], url
    size = app.extensions["kennis"].settings.max_page_bytes
    big = api("PUT", "/api/v1/pages/Big", json={"markdown": "a" * (size + 1)})
    assert big.status_code == 413 and big.get_json()["error"]["code"] == "too_large"


def test_authentication(client, auth, token):
    assert client.get("/api/v1/pages").status_code == 401
    bad = client.get("/api/v1/pages", headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401
    auth.login()
    assert client.get("/api/v1/pages").status_code == 200  # a session may read
    write = client.put("/api/v1/pages/ViaCookie", json={"markdown": "x"})
    assert write.status_code == 403  # but never write
    reader = token("reader")
    refused = client.put("/api/v1/pages/ByReader", json={"markdown": "x"},
                         headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403


def test_the_api_refuses_conflict_markers_unless_told_it_means_it(api, make_page):
    marked = "<<<<<<< yours\nmine\n=======\ntheirs\n>>>>>>> theirs\n"
    refused = api("PUT", "/api/v1/pages/Marked", json={"markdown": marked})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "unresolved_conflict"
    assert api("GET", "/api/v1/pages/Marked").status_code == 404
    kept = api("PUT", "/api/v1/pages/Marked",
               json={"markdown": marked, "keep_conflict_markers": True})
    assert kept.status_code == 201
    assert api("GET", "/api/v1/pages/Marked").get_json()["markdown"] == marked
    # A page that already holds them may be saved with them (a git tutorial, say).
    again = api("PUT", "/api/v1/pages/Marked", json={"markdown": marked + "more\n"})
    assert again.status_code == 200
