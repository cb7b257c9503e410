"""Names that deceive (issue 12, items 5 and 4), through the web, the API and uploads: new names
must be plain Unicode (NFKC), end no part in a dot, be no Windows device name and look like no
existing page or namespace; a file's name is a page path too, and is never renamed in a way
that tells a hidden page or folder exists."""

import json

import pytest

from tests.conftest import post_form
from tests.web.test_attachments import png, upload
from wiki.names import REFUSED

JSON = {"Accept": "application/json"}


def save(client, name, text="x\n"):
    return post_form(client, f"/edit/{name}", {"markdown": text, "base": "", "message": ""})


def api_put(client, token, name, text="x\n"):
    return client.put(f"/api/v1/pages/{name}", json={"markdown": text},
                      headers={"Authorization": f"Bearer {token}"})


def message(response) -> str:
    if response.is_json:
        return response.get_json()["error"]["message"]
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


def exists(app, name) -> bool:
    return app.extensions["kennis"].catalog.page(name) is not None


@pytest.fixture
def hr(make_page):
    make_page("HR/Policies", "# Policies\n", user="admin")
    make_page("Info", "# Info\n", user="admin")


CASES = [
    ("ＨＲ/Evil", "NFKC"),
    ("Іnfo", "looks like the existing page Info"),
    ("НR/Evil", "looks like the existing namespace HR"),
    ("HR./Evil", "cannot end with a dot"),
    ("CON", "device name on Windows"),
    ("Docs/nul.txt", "device name on Windows"),
]


@pytest.mark.parametrize(("name", "rule"), CASES)
def test_the_web_refuses_deceiving_names_saying_which_rule(app, client, auth, hr, name, rule):
    auth.login("editor")
    response = save(client, name)
    assert response.status_code == 400
    assert rule in message(response)
    assert not exists(app, name)


@pytest.mark.parametrize(("name", "rule"), CASES)
def test_the_api_refuses_deceiving_names_saying_which_rule(app, client, token, hr, name, rule):
    response = api_put(client, token("editor"), name)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_path"
    assert rule in response.get_json()["error"]["message"]
    assert not exists(app, name)


def test_renaming_to_a_deceiving_name_is_refused_but_fixing_a_typo_works(app, client, token,
                                                                          hr, make_page):
    make_page("Plan l", "typo\n")
    headers = {"Authorization": f"Bearer {token('editor')}"}
    refused = client.post("/api/v1/move/Plan l", json={"to": "Іnfo"}, headers=headers)
    assert refused.status_code == 400 and "looks like the existing page Info" in message(refused)
    refused = client.post("/api/v1/move/Plan l", json={"to": "Plan/CON"}, headers=headers)
    assert refused.status_code == 400 and "device name" in message(refused)
    # The page's own look-alike is the fixed name.
    assert client.post("/api/v1/move/Plan l", json={"to": "Plan 1"},
                       headers=headers).status_code == 200
    assert exists(app, "Plan 1")


def test_existing_pages_with_old_names_still_work(app, client, token, services):
    """A page pushed before the rules stays readable, editable and renamable."""
    from wiki.repo import Author, Write
    services.repo.commit([Write("CON.md", b"old\n")], "legacy", Author("t", "t@x"),
                         parent=services.repo.head())
    services.catalog.catch_up()
    tok = token("editor")
    assert api_put(client, tok, "CON", "edited\n").status_code == 200
    assert client.post("/api/v1/move/CON", json={"to": "Console"},
                       headers={"Authorization": f"Bearer {tok}"}).status_code == 200


def test_a_look_alike_of_a_hidden_page_gets_the_generic_refusal(app, client, token, services,
                                                               make_page):
    services.acl.set_rule("Board", "user:admin", None, actor="test")
    make_page("Board/Minutes", "secret\n", user="admin")
    make_page("Board", "the board\n", user="admin")
    response = api_put(client, token("editor"), "Вoard")  # Cyrillic В
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == REFUSED
    assert "Board" not in json.dumps(response.get_json()).replace("Вoard", "")
    # The admin, who can see it, is told which page it looks like.
    response = api_put(client, token("admin"), "Вoard")
    assert "looks like the existing page Board" in message(response)


# --- files: item 4 -----------------------------------------------------------------------------

@pytest.fixture
def public(services, make_page):
    make_page("Public", "# Public\n", user="admin")
    make_page("Public/Notes", "visible\n", user="admin")
    make_page("Public/Secret2", "hidden page\n", user="admin")
    make_page("Public/Secret/Plan", "hidden folder\n", user="admin")
    make_page("Public/Vault/Plan", "hidden page in an open folder\n", user="admin")
    for prefix in ("Public/Secret2", "Public/Secret", "Public/Vault/Plan", "Public/Nothing"):
        services.acl.set_rule(prefix, "user:admin", None, actor="test")
    return "Public"


@pytest.mark.parametrize("name", ["Secret2", "secret2", "Secret", "Vault", "Nothing"])
def test_a_file_named_like_a_hidden_page_or_folder_is_refused_like_any_name(
        app, client, auth, public, name):
    """`Nothing` is hidden by a rule but does not exist: the answer is the same, so it tells
    nothing about what exists."""
    auth.login("editor")
    for mode in ("replace", "keep"):
        response = upload(client, public, name, b"data", headers=JSON, mode=mode)
        assert response.status_code == 400, (name, mode)
        assert response.get_json()["error"]["message"] == REFUSED
    files = app.extensions["kennis"].repo.tree()
    assert f"public/{name.lower()}" not in {path.lower() for path in files}


def test_the_hidden_page_keeps_its_files_and_sub_pages(app, client, auth, public, make_page):
    auth.login("editor")
    upload(client, public, "Secret2", b"blocker", headers=JSON)
    auth.logout()
    auth.login("admin")
    assert upload(client, "Public/Secret2", "chart.png", png(), headers=JSON).status_code == 201
    assert make_page("Public/Secret2/Sub", "sub\n", user="admin").revision


def test_free_names_never_skip_a_hidden_one(app, client, auth, services, public):
    services.acl.set_rule("Public/chart-2.png", "user:admin", None, actor="test")
    auth.login("editor")
    assert upload(client, public, "chart.png", png(), headers=JSON).status_code == 201
    response = upload(client, public, "chart.png", png(), headers=JSON, mode="keep")
    assert response.status_code == 400 and response.get_json()["error"]["message"] == REFUSED


def test_visible_collisions_are_still_renamed(app, client, auth, public):
    auth.login("editor")
    response = upload(client, public, "Notes", b"data", headers=JSON)
    assert response.status_code == 201 and response.get_json()["name"] == "Notes-2"


@pytest.mark.parametrize(("filename", "expected"), [
    ("ｒｅｐｏｒｔ.pdf", "report.pdf"),  # full-width letters fold to plain ones
    ("ﬁnal.txt", "final.txt"),
    ("draft...", "draft"),
])
def test_file_names_are_made_plain(client, auth, public, filename, expected):
    auth.login("editor")
    response = upload(client, public, filename, b"data", headers=JSON)
    assert response.status_code == 201 and response.get_json()["name"] == expected


@pytest.mark.parametrize(("filename", "rule"), [
    ("con.txt", "device name on Windows"),
    ("AUX", "device name on Windows"),
    ("Ιnvoice.pdf", "looks like the file Invoice.pdf"),  # Greek capital Iota
    ("Νotes", "looks like the existing page Public/Notes"),  # Greek capital Nu
])
def test_deceiving_file_names_are_refused_with_the_rule(client, auth, public, filename, rule):
    auth.login("editor")
    assert upload(client, public, "Invoice.pdf", b"data", headers=JSON).status_code == 201
    response = upload(client, public, filename, b"data", headers=JSON)
    assert response.status_code == 400 and rule in response.get_json()["error"]["message"]


def test_uploading_to_a_new_page_with_a_deceiving_name_is_refused(client, auth, hr):
    auth.login("editor")
    response = upload(client, "НR", "a.png", png(), headers=JSON)
    assert response.status_code == 400
    assert "looks like the existing namespace HR" in response.get_json()["error"]["message"]
