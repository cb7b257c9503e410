"""Discussions in the browser and through the JSON API."""

import re

from tests.conftest import post_form


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def _thread_id(response) -> int:
    return int(re.search(r"/thread/(\d+)", response.headers["Location"]).group(1))


def test_discussion_tab_counts_threads_and_a_thread_can_be_posted_and_answered(
        client, auth, make_page):
    make_page("Team/Plan", "# Plan\n\nThe plan.\n")
    auth.login("editor")
    assert "Discussion" in client.get("/wiki/Team/Plan").text
    created = post_form(client, "/discussion/Team/Plan",
                        {"title": "When do we start?", "body": "Asking @bob, *soon*?"})
    assert created.status_code == 302
    thread_id = _thread_id(created)
    page = client.get("/wiki/Team/Plan").text  # the cached view shows the new count
    assert re.search(r'Discussion <span class="count">1</span>', page)
    auth.logout()
    auth.login("bob")
    assert re.search(r'Inbox <span class="count"[^>]*>1</span>', client.get("/wiki/Team/Plan").text)
    answered = post_form(client, f"/thread/{thread_id}/reply",
                         {"body": "Monday.", "reply_to": "1"})
    assert answered.status_code == 302
    thread = client.get(f"/thread/{thread_id}").text
    assert "<em>soon</em>" in thread and "Monday." in thread and "replying to editor" in thread
    auth.logout()
    auth.login("reader")  # neither its author nor an editor
    assert post_form(client, f"/thread/{thread_id}/status",
                     {"status": "resolved"}).status_code == 403
    auth.logout()
    auth.login("editor")
    assert post_form(client, f"/thread/{thread_id}/status",
                     {"status": "resolved"}).status_code == 302
    listing = client.get("/discussion/Team/Plan").text
    assert "1 resolved discussion" in listing


def test_bad_comments_get_a_clear_4xx_in_the_browser(client, auth, make_page):
    make_page("Plan")
    auth.login("reader")
    empty = post_form(client, "/discussion/Plan", {"title": "Hi", "body": "  "})
    assert empty.status_code == 400 and "cannot be empty" in empty.text
    assert post_form(client, "/discussion/Nowhere", {"title": "t", "body": "b"}).status_code \
        == 404
    assert client.get("/thread/999").status_code == 404


def test_mention_autocomplete_lists_users_who_may_read_the_page(app, client, auth, make_page):
    services = app.extensions["kennis"]
    services.acl.set_rule("Board", "user:admin,user:editor", None, actor="test")
    make_page("Board/Minutes", user="admin")
    auth.login("editor")
    names = client.get("/mentions/Board/Minutes?q=").get_json()["users"]
    assert [u["name"] for u in names] == ["admin", "editor"]
    assert [u["name"] for u in client.get("/mentions/Board/Minutes?q=ed").get_json()["users"]] \
        == ["editor"]
    auth.logout()
    auth.login("bob")
    assert client.get("/mentions/Board/Minutes?q=").status_code == 404


def test_inbox_lists_and_marks_notifications_read(client, auth, make_page):
    make_page("Plan")
    auth.login("editor")
    post_form(client, "/discussion/Plan", {"title": "Review", "body": "@reader please look"})
    auth.logout()
    auth.login("reader")
    inbox = client.get("/inbox").text
    assert "editor mentioned you in" in inbox and "Review" in inbox
    post_form(client, "/inbox", {})
    assert 'class="count"' not in client.get("/inbox").text.split("<main")[0]


def test_api_threads_follow_design(client, make_page, token):
    make_page("Team/Plan")
    editor, bob = _auth(token("editor")), _auth(token("bob"))
    created = client.post("/api/v1/discussions/team/plan", headers=editor,
                          json={"title": "Budget", "body": "How much?"})
    assert created.status_code == 201
    thread = created.get_json()
    assert thread["path"] == "Team/Plan" and thread["comments"][0]["body"] == "How much?"
    listed = client.get("/api/v1/discussions/Team/Plan", headers=bob).get_json()
    assert [(t["id"], t["title"], t["status"], t["comments"]) for t in listed["threads"]] == \
        [(thread["id"], "Budget", "open", 1)]
    reply = client.post(f"/api/v1/threads/{thread['id']}/comments", headers=bob,
                        json={"body": "**Ten**", "reply_to": thread["comments"][0]["id"]})
    assert reply.status_code == 201 and "<strong>Ten</strong>" in reply.get_json()["html"]
    assert client.patch(f"/api/v1/threads/{thread['id']}", headers=_auth(token("reader")),
                        json={"status": "resolved"}).status_code == 403
    patched = client.patch(f"/api/v1/threads/{thread['id']}", headers=editor,
                           json={"status": "resolved", "locked": True})
    assert patched.get_json()["status"] == "resolved" and patched.get_json()["locked"]
    locked = client.post(f"/api/v1/threads/{thread['id']}/comments", headers=bob,
                         json={"body": "More"})
    assert locked.status_code == 409 and locked.get_json()["error"]["code"] == "closed"
    full = client.get(f"/api/v1/threads/{thread['id']}", headers=bob).get_json()
    assert [c["reply_to"] for c in full["comments"]] == [None, thread["comments"][0]["id"]]


def test_api_refuses_bad_input_unreadable_pages_and_session_writes(app, client, auth,
                                                                   make_page, token):
    make_page("HR/Secret", user="admin")
    make_page("Plan")
    app.extensions["kennis"].acl.set_rule("HR", "user:admin", None, actor="test")
    bob = _auth(token("bob"))
    for body, status in (({"title": "t", "body": ""}, 400), ({"title": "t"}, 400),
                         ({"title": "t", "body": "x" * 20_001}, 413)):
        answer = client.post("/api/v1/discussions/Plan", headers=bob, json=body)
        assert answer.status_code == status and answer.get_json()["error"]["code"]
    assert client.post("/api/v1/discussions/HR/Secret", headers=bob,
                       json={"title": "t", "body": "b"}).status_code == 404
    assert client.get("/api/v1/discussions/HR/Secret", headers=bob).status_code == 404
    assert client.get("/api/v1/discussions/Nowhere", headers=bob).status_code == 404
    assert client.get("/api/v1/discussions/Plan", headers=bob).get_json()["threads"] == []
    assert client.post("/api/v1/discussions/Plan", json={"title": "t", "body": "b"}
                       ).status_code == 401
    auth.login("bob")
    assert client.post("/api/v1/discussions/Plan", json={"title": "t", "body": "b"}
                       ).status_code == 403
    assert client.get("/api/v1/discussions/Plan").status_code == 200
    spec = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/threads/{thread_id}/comments" in spec


def test_moderators_hide_comments_and_see_earlier_versions(client, auth, make_page):
    make_page("Plan")
    auth.login("bob")
    thread_id = _thread_id(post_form(client, "/discussion/Plan",
                                     {"title": "Heated", "body": "First words"}))
    post_form(client, "/comment/1/edit", {"body": "Angry words"})
    auth.logout()
    auth.login("editor")
    assert "First words" in client.get("/comment/1/history").text
    post_form(client, "/comment/1/hide", {"reason": "Keep it civil"})
    assert "Keep it civil" in client.get(f"/thread/{thread_id}").text
    auth.logout()
    auth.login("reader")
    seen = client.get(f"/thread/{thread_id}").text
    assert "Angry words" not in seen and "hidden by a moderator" in seen
    assert client.get("/comment/1/history").status_code == 403


def test_activity_shows_edits_and_comments_the_viewer_may_read(app, client, auth, make_page):
    make_page("Team/Plan")
    make_page("HR/Secret", user="admin")
    services = app.extensions["kennis"]
    services.discussions.start(services.users.by_name("admin"), "HR/Secret", "Pay rise", "x")
    services.discussions.start(services.users.by_name("editor"), "Team/Plan", "Kickoff", "y")
    services.acl.set_rule("HR", "user:admin", None, actor="test")
    auth.login("reader")
    everything = client.get("/activity").text
    assert "Kickoff" in everything and "Pay rise" not in everything
    assert "HR/Secret" not in everything
    assert "Kickoff" in client.get("/activity/Team").text


def test_the_activity_stream_shows_who_pushed(app, client, auth):
    """Recorded by the git route after a push (tests/e2e/test_git.py pushes for real)."""
    app.extensions["kennis"].acl.record("bob", "git-push", "refs/heads/main", "3 abc..def")
    auth.login("reader")
    html = client.get("/activity").get_data(as_text=True)
    assert "bob pushed 3 commits with git" in html
    feed = client.get("/activity.atom").get_data(as_text=True)
    assert "bob pushed 3 commits with git" in feed
    assert "pushed" not in client.get("/activity/Team").get_data(as_text=True)


def test_a_refused_thread_change_changes_nothing(client, token, make_page):
    make_page("Team/Plan", "# Plan\n")
    reader = _auth(token("reader"))
    thread = client.post("/api/v1/discussions/Team/Plan", headers=reader,
                         json={"title": "Mine", "body": "A question."}).get_json()
    refused = client.patch(f"/api/v1/threads/{thread['id']}", headers=reader,
                           json={"status": "resolved", "locked": True})
    assert refused.status_code == 403  # locking is for editors: the status stays too
    after = client.get(f"/api/v1/threads/{thread['id']}", headers=reader).get_json()
    assert after["status"] == "open" and not after["locked"]
