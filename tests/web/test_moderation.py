"""Reporting comments, the moderators' queue and approval of new threads, in the browser."""

import re

import pytest

from tests.conftest import post_form
from wiki import config


@pytest.fixture
def settings(tmp_path):
    return config.load(tmp_path, environ={}, thread_approval_prefixes="Board")


def _thread_id(response) -> int:
    return int(re.search(r"/thread/(\d+)", response.headers["Location"]).group(1))


def test_a_reader_reports_a_comment_and_a_moderator_hides_it(app, client, auth, make_page):
    make_page("Plan")
    auth.login("bob")
    thread_id = _thread_id(post_form(client, "/discussion/Plan",
                                     {"title": "Heated", "body": "You are all wrong"}))
    auth.logout()
    auth.login("reader")
    assert "Report to moderators" in client.get(f"/thread/{thread_id}").text
    assert post_form(client, "/comment/1/report", {"reason": ""}).status_code == 400
    reported = post_form(client, "/comment/1/report", {"reason": "Insulting"},
                         follow_redirects=True)
    assert "moderators of this page will look" in reported.text
    assert client.get("/moderation").status_code == 403
    auth.logout()
    auth.login("editor")
    assert "reader reported a comment in" in client.get("/inbox").text
    queue = client.get("/moderation").text
    assert "Insulting" in queue and "You are all wrong" in queue
    hidden = post_form(client, "/comment/1/hide", {"reason": "Insulting", "back": "moderation"})
    assert hidden.headers["Location"].endswith("/moderation")
    assert "No open reports" in client.get("/moderation").text
    auth.logout()
    auth.login("admin")
    audit = client.get("/admin/audit").text
    assert "comment.report" in audit and "comment.hide" in audit
    auth.logout()
    auth.login("reader")
    assert "You are all wrong" not in client.get(f"/thread/{thread_id}").text


def test_a_moderator_dismisses_a_report(client, auth, make_page):
    make_page("Plan")
    auth.login("bob")
    thread_id = _thread_id(post_form(client, "/discussion/Plan",
                                     {"title": "Fine", "body": "Perfectly fine"}))
    auth.logout()
    auth.login("reader")
    post_form(client, "/comment/1/report", {"reason": "I disagree"})
    auth.logout()
    auth.login("editor")
    report_id = re.search(r"/report/(\d+)/dismiss", client.get("/moderation").text).group(1)
    assert post_form(client, f"/report/{report_id}/dismiss").status_code == 302
    assert "No open reports" in client.get("/moderation").text
    assert "Perfectly fine" in client.get(f"/thread/{thread_id}").text


def test_new_threads_in_board_wait_for_approval(app, client, auth, make_page):
    app.extensions["kennis"].acl.set_rule("Board", "users", "user:editor", actor="test")
    make_page("Board/Minutes", user="admin")
    auth.login("reader")
    thread_id = _thread_id(post_form(client, "/discussion/Board/Minutes",
                                     {"title": "Agenda", "body": "Ask @bob"}))
    assert "waits until a moderator approves it" in client.get(f"/thread/{thread_id}").text
    auth.logout()
    auth.login("bob")  # reads Board, does not moderate it
    assert client.get(f"/thread/{thread_id}").status_code == 404
    assert "Agenda" not in client.get("/discussion/Board/Minutes").text
    assert 'class="count"' not in client.get("/inbox").text.split("<main")[0]
    assert client.get("/api/v1/discussions/Board/Minutes").get_json()["threads"] == []
    assert post_form(client, f"/thread/{thread_id}/approve").status_code == 404
    auth.logout()
    auth.login("editor")
    assert "Agenda" in client.get("/moderation").text
    assert post_form(client, f"/thread/{thread_id}/approve").status_code == 302
    assert "Nothing waits for approval" in client.get("/moderation").text
    auth.logout()
    auth.login("bob")
    assert "reader mentioned you in" in client.get("/inbox").text
    [listed] = client.get("/api/v1/discussions/Board/Minutes").get_json()["threads"]
    assert listed["title"] == "Agenda" and listed["pending"] is False


def test_a_rejected_thread_is_deleted(client, auth, make_page):
    make_page("Board/Minutes", user="admin")
    auth.login("reader")
    thread_id = _thread_id(post_form(client, "/discussion/Board/Minutes",
                                     {"title": "Buy cheap pills", "body": "Spam"}))
    auth.logout()
    auth.login("editor")
    post_form(client, f"/thread/{thread_id}/reject", {"back": "moderation"})
    assert client.get(f"/thread/{thread_id}").status_code == 404
    assert "Buy cheap pills" not in client.get("/moderation").text
