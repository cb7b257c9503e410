"""Honest authorship (issue 12): history, feeds and git name the account that saved, whatever
display name or email it chose, and no display name can pass for a colleague's."""

import subprocess

import pytest

from tests.conftest import post_form
from wiki import config


@pytest.fixture
def settings(tmp_path):
    # The wiki's own author addresses take base_url's host.
    return config.load(tmp_path, environ={}, base_url="https://wiki.example.org/")


def git_log(app, path: str) -> list[str]:
    repo = app.extensions["kennis"].settings.repository
    out = subprocess.run(["git", "--git-dir", str(repo), "log", "--format=%an <%ae>", "--",
                          path], capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def test_the_settings_form_refuses_a_colleagues_name(app, client, auth):
    auth.login("editor")
    answer = post_form(client, "/settings", {"display_name": "B.O.B", "language": "nl",
                                             "email": "ed@example.org"})
    assert answer.status_code == 400
    assert b"too close to another account" in answer.data
    editor = app.extensions["kennis"].users.by_name("editor")
    assert (editor.display_name, editor.email, editor.language) == \
        ("", "editor@example.org", "")
    ok = post_form(client, "/settings", {"display_name": "Ed Itor", "language": "",
                                         "email": "editor@example.org"})
    assert ok.status_code == 302
    assert app.extensions["kennis"].users.by_name("editor").display_name == "Ed Itor"


def test_an_api_save_is_authored_by_the_account_whatever_its_profile_says(
        app, client, auth, token):
    users = app.extensions["kennis"].users
    # An editor who renamed themself "Admin Istrator" and gave a colleague-like address.
    editor = users.by_name("editor")
    users.update_profile(editor.id, display_name="Admin Istrator",
                         email="admin.istrator@example.org")
    headers = {"Authorization": f"Bearer {token('editor')}"}
    answer = client.put("/api/v1/pages/Team/Plan", json={"markdown": "Plan.\n"},
                        headers=headers)
    assert answer.status_code == 201
    history = client.get("/api/v1/history/Team/Plan", headers=headers).get_json()
    assert [(r["author"], r["pushed_by"]) for r in history["revisions"]] == [("editor", None)]
    assert client.get("/api/v1/pages/Team/Plan", headers=headers).get_json()["author"] == \
        "editor"
    assert git_log(app, "Team/Plan.md") == ["editor <editor@wiki.example.org>"]
    auth.login("bob")
    recent = client.get("/recent").get_data(as_text=True)
    assert "· editor ·" in recent and "Admin Istrator" not in recent
    feed = client.get("/recent.atom")
    assert feed.status_code == 200 and "<name>editor</name>" in feed.get_data(as_text=True)


def test_your_own_saves_in_between_still_do_not_conflict_with_you(app, client, token):
    headers = {"Authorization": f"Bearer {token('editor')}"}
    first = client.put("/api/v1/pages/Notes", json={"markdown": "one\n"}, headers=headers)
    base = first.get_json()["revision"]
    client.put("/api/v1/pages/Notes", json={"markdown": "two\n", "base_revision": base},
               headers=headers)
    again = client.put("/api/v1/pages/Notes", json={"markdown": "three\n",
                                                    "base_revision": base}, headers=headers)
    assert again.status_code == 200, again.get_json()
    bobs = {"Authorization": f"Bearer {token('bob')}"}
    clash = client.put("/api/v1/pages/Notes", json={"markdown": "bob's\n",
                                                    "base_revision": base}, headers=bobs)
    assert clash.status_code == 409


def test_watchers_hear_who_edited_and_the_editor_is_not_told_of_their_own_edit(
        app, make_page):
    services = app.extensions["kennis"]
    make_page("Team/Plan", "Plan.\n", user="bob")  # bob watches what he edits
    make_page("Team/Plan", "Changed.\n", user="editor")
    editor, bob = services.users.by_name("editor"), services.users.by_name("bob")
    assert [(i.kind, i.actor) for i in services.notify.inbox(bob)] == [("edit", "editor")]
    assert services.notify.inbox(editor) == []
    make_page("Team/Plan", "Again.\n", user="bob")
    assert [i.actor for i in services.notify.inbox(editor)] == ["bob"]
    assert len(services.notify.inbox(bob)) == 1
