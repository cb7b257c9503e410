"""Short updates through the API: post, tags, replies, likes, edit, delete, permissions."""

import pytest

from tests.conftest import PASSWORD


@pytest.fixture
def hr(app):
    services = app.extensions["kennis"]
    services.users.create("hrperson", PASSWORD, role="editor")
    services.acl.add_members("hr", ["hrperson"], actor="test")
    services.acl.set_rule("HR", "group:hr", None, actor="test")
    return services


def bearer(token, user="editor"):
    return {"Authorization": f"Bearer {token(user)}"}


def test_post_with_tags_reply_and_like(client, token):
    made = client.post("/api/v1/updates", json={"body": "Shipped the **new** intranet #launch "
                                                        "#Q3, thanks @bob"},
                       headers=bearer(token))
    assert made.status_code == 201, made.json
    post = made.json
    assert post["tags"] == ["launch", "q3"]
    assert '<a class="tag" href="/updates?tag=launch">#launch</a>' in post["html"]
    assert "<strong>new</strong>" in post["html"]
    url = f"/api/v1/updates/{post['id']}"
    reply = client.post(url + "/replies", json={"body": "Well done!"},
                        headers=bearer(token, "reader"))
    assert reply.status_code == 201 and reply.json["reply_to"] == post["id"]
    nested = client.post(f"/api/v1/updates/{reply.json['id']}/replies", json={"body": "Yes"},
                         headers=bearer(token, "bob"))
    assert nested.json["reply_to"] == post["id"]  # one level deep
    assert client.post(url + "/like", headers=bearer(token, "bob")).json["likes"] == 1
    assert client.post(url + "/like", headers=bearer(token, "bob")).status_code == 409
    stream = client.get("/api/v1/updates?tag=launch", headers=bearer(token)).json["updates"]
    assert [(u["id"], u["replies"], u["likes"]) for u in stream] == [(post["id"], 2, 1)]
    assert client.get("/api/v1/updates?tag=other", headers=bearer(token)).json["updates"] == []
    assert client.delete(url + "/like", headers=bearer(token, "bob")).json["likes"] == 0
    by_author = client.get("/api/v1/updates?author=EDITOR", headers=bearer(token)).json
    assert [u["id"] for u in by_author["updates"]] == [post["id"]]


@pytest.mark.parametrize("body", ["", "   ", "x" * 1001])
def test_empty_or_over_long_posts_are_refused(client, token, body):
    assert client.post("/api/v1/updates", json={"body": body},
                       headers=bearer(token)).status_code == 400
    assert client.get("/api/v1/updates", headers=bearer(token)).json["updates"] == []


def test_only_the_author_edits_and_deleted_posts_take_no_replies(client, token):
    post = client.post("/api/v1/updates", json={"body": "Draft #x"}, headers=bearer(token)).json
    url = f"/api/v1/updates/{post['id']}"
    assert client.patch(url, json={"body": "Hijacked"},
                        headers=bearer(token, "bob")).status_code == 403
    edited = client.patch(url, json={"body": "Final #y"}, headers=bearer(token))
    assert edited.json["tags"] == ["y"] and edited.json["edited"]
    assert client.delete(url, headers=bearer(token, "bob")).status_code == 403
    assert client.delete(url, headers=bearer(token)).status_code == 204
    assert client.post(url + "/replies", json={"body": "late"},
                       headers=bearer(token)).status_code == 400
    assert client.get("/api/v1/updates", headers=bearer(token)).json["updates"] == []
    assert client.post("/api/v1/updates", json={"body": "via session"}).status_code in (401, 403)


def test_team_posts_never_reach_an_outsider(client, hr, token):
    secret = client.post("/api/v1/updates", json={"body": "ZEBRA layoffs #secret",
                                                   "namespace": "HR"},
                         headers=bearer(token, "hrperson")).json
    assert client.get("/api/v1/updates?prefix=HR", headers=bearer(token, "hrperson")
                      ).json["updates"][0]["id"] == secret["id"]
    for url in ["/api/v1/updates", "/api/v1/updates?tag=secret", "/api/v1/updates?prefix=HR"]:
        assert "ZEBRA" not in client.get(url, headers=bearer(token)).get_data(as_text=True)
    hidden = client.get(f"/api/v1/updates/{secret['id']}", headers=bearer(token))
    missing = client.get("/api/v1/updates/999999", headers=bearer(token))
    assert hidden.status_code == missing.status_code == 404 and hidden.json == missing.json
    for method, suffix, body in [("post", "/replies", {"body": "hi"}), ("post", "/like", None),
                                 ("patch", "", {"body": "x"}), ("delete", "", None)]:
        response = getattr(client, method)(f"/api/v1/updates/{secret['id']}{suffix}",
                                           json=body, headers=bearer(token))
        assert response.status_code == 404, (method, suffix)
    assert client.post("/api/v1/updates", json={"body": "in", "namespace": "HR"},
                       headers=bearer(token)).status_code == 404


def test_the_stream_page_posts_and_likes(client, auth):
    auth.login("editor")
    from tests.conftest import post_form

    assert post_form(client, "/updates", {"body": "Coffee machine fixed #office"}
                     ).status_code == 302
    page = client.get("/updates?tag=office").get_data(as_text=True)
    assert "Coffee machine fixed" in page and 'href="/updates?tag=office"' in page
    assert post_form(client, "/updates", {"body": ""}).status_code == 400
    update_id = client.get("/api/v1/updates").json["updates"][0]["id"]
    post_form(client, f"/updates/{update_id}/like", {"next": "/updates"})
    assert client.get("/api/v1/updates").json["updates"][0]["likes"] == 1
