"""Self-service API tokens: shown once, stored hashed, last use recorded, revocable."""

import re

from tests.conftest import post_form
from tests.web.test_admin import rows

VALUE = re.compile(r"kennis_[A-Za-z0-9_-]{40,}")


def create(client, name="portal search"):
    response = post_form(client, "/tokens/create", {"name": name})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    found = VALUE.findall(response.get_data(as_text=True))
    assert len(found) == 1
    return found[0]


def api_get(client, value):
    return client.get("/api/v1/pages", headers={"Authorization": f"Bearer {value}"})


def test_token_lifecycle(app, client, auth):
    auth.login("editor")
    assert "You have no API tokens" in client.get("/tokens").get_data(as_text=True)
    value = create(client)
    listing = client.get("/tokens")
    assert value not in listing.get_data(as_text=True)  # shown once, never again
    assert rows(listing)[1][:1] == ["portal search"] and rows(listing)[1][2] == "never"
    stored = app.extensions["kennis"].db.engine.raw_connection()
    try:
        hashes = [r[0] for r in stored.execute("SELECT token_hash FROM tokens")]
    finally:
        stored.close()
    assert value not in hashes and len(hashes) == 1  # only the hash is kept

    auth.logout()
    assert api_get(client, value).status_code == 200
    written = client.put("/api/v1/pages/Token Page", json={"markdown": "via token"},
                         headers={"Authorization": f"Bearer {value}"})
    assert written.status_code == 201
    auth.login("editor")
    assert rows(client.get("/tokens"))[1][2] != "never"  # last used is set

    token_id = app.extensions["kennis"].users.tokens()[0].id
    revoked = post_form(client, f"/tokens/revoke/{token_id}", follow_redirects=True)
    assert "was revoked" in revoked.get_data(as_text=True)
    auth.logout()
    refused = api_get(client, value)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"


def test_a_token_needs_a_name(client, auth):
    auth.login("reader")
    response = post_form(client, "/tokens/create", {"name": "  "}, follow_redirects=True)
    assert "needs a name" in response.get_data(as_text=True)
    assert "You have no API tokens" in response.get_data(as_text=True)


def test_users_see_and_revoke_only_their_own(app, client, auth, token):
    theirs = token("bob")
    auth.login("editor")
    create(client, "mine")
    page = client.get("/tokens")
    assert [r[0] for r in rows(page)[1:]] == ["mine"]
    bobs = next(t.id for t in app.extensions["kennis"].users.tokens() if t.user == "bob")
    assert post_form(client, f"/tokens/revoke/{bobs}").status_code == 404  # looks missing
    assert post_form(client, "/tokens/revoke/999999").status_code == 404
    assert api_get(client, theirs).status_code == 200


def test_admin_lists_and_revokes_anyones_token(app, client, auth, token):
    theirs = token("bob")
    auth.login("admin")
    listing = rows(client.get("/admin/tokens"))
    assert listing[1][:2] == ["bob", "tests"]
    bobs = app.extensions["kennis"].users.tokens()[0].id
    back = post_form(client, f"/tokens/revoke/{bobs}", {"back": "admin"})
    assert back.status_code == 302 and back.location.endswith("/admin/tokens")
    auth.logout()
    assert api_get(client, theirs).status_code == 401
    auth.login("admin")
    log = [r[1:5] for r in rows(client.get("/admin/audit"))[1:]]
    assert ["admin", "token.revoke", "bob", "tests"] in log


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/tokens")
    assert response.status_code == 302 and "/login" in response.location
