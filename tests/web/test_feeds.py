"""Atom feeds of the activity stream and recent changes, read with a per-user feed token."""

import re
import xml.etree.ElementTree as ET

from tests.conftest import post_form

ATOM = "{http://www.w3.org/2005/Atom}"


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)  # noqa: S314 (our own server's answer in a test)
    return [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]


def _feed_token(client, auth, user) -> str:
    auth.login(user)
    page = post_form(client, "/feeds")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    token = re.search(r"/activity\.atom\?token=([\w-]+)", page.text).group(1)
    assert f"/recent.atom?token={token}" in page.text
    auth.logout()
    return token


def _setup(app, make_page):
    services = app.extensions["kennis"]
    make_page("Team/Plan")
    make_page("HR/Secret", user="admin")
    services.discussions.start(services.users.by_name("admin"), "HR/Secret", "Pay rise", "x")
    services.discussions.start(services.users.by_name("editor"), "Team/Plan", "Kickoff", "y")
    services.acl.set_rule("HR", "user:admin", None, actor="test")
    return services


def test_feeds_with_a_token_show_what_its_user_may_read_without_a_session(
        app, client, auth, make_page):
    services = _setup(app, make_page)
    token = _feed_token(client, auth, "reader")
    everything = _titles(client.get(f"/activity.atom?token={token}"))
    assert any("Kickoff" in t for t in everything)
    assert not any("Pay rise" in t or "HR/Secret" in t for t in everything)
    team = _titles(client.get(f"/activity.atom/Team?token={token}"))
    assert team and all("Team/Plan" in t for t in team)
    recent = _titles(client.get(f"/recent.atom?token={token}"))
    assert any(t.startswith("Team/Plan") for t in recent)
    assert not any(t.startswith("HR/") for t in recent)
    # losing read access to a page removes it from the feeds at once
    services.acl.set_rule("Team", "user:admin", None, actor="test")
    assert not any("Team/Plan" in t for t in _titles(client.get(f"/activity.atom?token={token}")))
    assert not any("Team/Plan" in t for t in _titles(client.get(f"/recent.atom?token={token}")))


def test_a_session_still_reads_the_feeds_and_visitors_get_a_plain_401(client, auth, make_page):
    make_page("Team/Plan")
    for url in ("/activity.atom", "/recent.atom"):
        refused = client.get(url)
        assert refused.status_code == 401 and refused.mimetype == "text/plain"
        assert "/feeds" in refused.text
    auth.login("reader")
    assert any(t.startswith("Team/Plan") for t in _titles(client.get("/recent.atom")))
    assert _titles(client.get("/activity.atom"))


def test_a_bad_or_reset_token_is_a_plain_404(client, auth, make_page):
    make_page("Team/Plan")
    old = _feed_token(client, auth, "reader")
    new = _feed_token(client, auth, "reader")  # reset: the old links stop working
    for url in (f"/activity.atom?token={old}", f"/recent.atom?token={old}",
                "/activity.atom?token=kennisfeed_nonsense", "/recent.atom?token="):
        refused = client.get(url)
        assert refused.status_code == 404 and refused.mimetype == "text/plain", url
        assert "{" not in refused.text and "<" not in refused.text
    assert _titles(client.get(f"/recent.atom?token={new}"))


def test_a_feed_token_opens_no_page_and_no_api(client, auth, make_page, token):
    make_page("Team/Plan", "Inside text.\n")
    feed = _feed_token(client, auth, "reader")
    api = client.get("/api/v1/pages/Team/Plan", headers={"Authorization": f"Bearer {feed}"})
    assert api.status_code == 401 and api.get_json()["error"]["code"]
    page = client.get(f"/wiki/Team/Plan?token={feed}")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    api_token = token("reader")  # and an API token is no feed token
    assert client.get(f"/recent.atom?token={api_token}").status_code == 404


def test_the_feeds_page_makes_resets_and_removes_the_token(client, auth):
    assert client.get("/feeds").status_code == 302  # log in first
    auth.login("bob")
    assert "no feed token yet" in client.get("/feeds").text
    token = re.search(r"token=([\w-]+)", post_form(client, "/feeds").text).group(1)
    shown = client.get("/feeds").text
    assert "Reset feed token" in shown and token not in shown  # shown only once
    post_form(client, "/feeds", {"action": "remove"})
    assert "no feed token yet" in client.get("/feeds").text
    assert client.get(f"/activity.atom?token={token}").status_code == 404


def test_a_page_renamed_out_of_a_hidden_namespace_keeps_its_old_name_out_of_the_activity(
        app, client, auth):
    services = app.extensions["kennis"]
    admin = services.users.by_name("admin")
    services.acl.set_rule("Secret", "user:admin", None, actor="test")
    services.pages.save(admin, "Secret/Plan", "launch codes\n")
    services.pages.rename(admin, "Secret/Plan", "Public/Plan")
    auth.login("editor")
    page = client.get("/activity").text
    assert "Public/Plan" in page and "Secret" not in page
    feed = _titles(client.get("/activity.atom"))
    assert any("Public/Plan" in t for t in feed) and not any("Secret" in t for t in feed)
    auth.logout()
    auth.login("admin")  # who may read the old name still sees where it came from
    assert "Secret/Plan" in client.get("/activity").text
