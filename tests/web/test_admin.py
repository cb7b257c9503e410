"""The admin screens: only admins get in; every change takes effect at once and is audited."""

from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from tests.conftest import PASSWORD, csrf, post_form
from wiki.cli import main


class _Rows(HTMLParser):
    """The text of each table row, cell by cell: what a person reads on the screen."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def rows(response) -> list[list[str]]:
    parser = _Rows()
    parser.feed(response.get_data(as_text=True))
    return parser.rows


def admin_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]


@pytest.mark.parametrize("user", ["editor", "reader"])
def test_non_admins_get_403_on_every_admin_route(app, client, auth, user):
    auth.login(user)
    for rule in admin_rules(app):
        if "GET" in rule.methods:
            assert client.get(rule.rule).status_code == 403, rule.rule
        if "POST" in rule.methods:
            response = post_form(client, rule.rule, {"name": "intruder", "user": "admin",
                                                     "password": "x" * 12, "role": "reader",
                                                     "group": "g", "users": user,
                                                     "prefix": "HR", "read": "anyone"})
            assert response.status_code == 403, rule.rule
    services = app.extensions["kennis"]
    assert services.users.by_name("intruder") is None
    assert services.users.by_name("admin").role == "admin"
    assert services.acl.rules() == [] and services.acl.groups() == {}
    assert "Admin" not in client.get("/index").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_log_in(app, client):
    for rule in admin_rules(app):
        if "GET" in rule.methods:
            response = client.get(rule.rule)
            assert response.status_code == 302 and "/login" in response.location, rule.rule


def test_admin_manages_users(app, client, auth):
    auth.login("admin")
    assert "Admin" in client.get("/index").get_data(as_text=True)
    created = post_form(client, "/admin/users/create", {"name": "carol", "password": PASSWORD,
                                                        "role": "reader",
                                                        "email": "carol@example.org"},
                        follow_redirects=True)
    assert "carol was added" in created.get_data(as_text=True)
    listed = [r[0] for r in rows(client.get("/admin/users"))]
    assert "carol" in listed and "bob" in listed

    other = app.test_client()
    other.get("/login")
    assert other.post("/login", data={"name": "carol", "password": PASSWORD,
                                      "csrf_token": csrf(other)}).status_code == 302
    assert other.get("/edit/Carol Page").status_code == 403  # a reader
    post_form(client, "/admin/users/role", {"user": "carol", "role": "editor"})
    assert other.get("/edit/Carol Page").status_code == 200  # at once

    post_form(client, "/admin/users/sessions", {"user": "carol"})
    assert other.get("/settings").status_code == 302  # logged out

    post_form(client, "/admin/users/password", {"user": "carol", "password": "a-new-password"})
    assert app.extensions["kennis"].users.authenticate("carol", PASSWORD) is None
    assert app.extensions["kennis"].users.authenticate("carol", "a-new-password")


def test_bad_input_comes_back_as_a_message(client, auth):
    auth.login("admin")
    cases = [
        ("/admin/users/create", {"name": "../x", "password": PASSWORD, "role": "editor"},
         "A user name has"),
        ("/admin/users/create", {"name": "editor", "password": PASSWORD, "role": "editor"},
         "already exists"),
        ("/admin/users/create", {"name": "dan", "password": "short", "role": "editor"},
         "at least 8"),
        ("/admin/users/role", {"user": "nobody", "role": "editor"}, "no user nobody"),
        ("/admin/users/role", {"user": "admin", "role": "reader"}, "at least one admin"),
        ("/admin/groups/add", {"group": "bad group!", "users": "bob"}, "A group name has"),
        ("/admin/groups/add", {"group": "hr", "users": "ghost"}, "no user ghost"),
        ("/admin/rules/set", {"prefix": "HR", "read": "group:hr, everyone"},
         "is not user:NAME, group:NAME, users or anyone"),
        ("/admin/rules/set", {"prefix": "../etc", "read": "users"}, "cannot start with a dot"),
        ("/admin/rules/remove", {"prefix": "Nope"}, "no rule on Nope"),
    ]
    for url, data, message in cases:
        response = post_form(client, url, data, follow_redirects=True)
        assert response.status_code == 200
        assert message in response.get_data(as_text=True), (url, data)


def test_groups_and_rules_take_effect_at_once(app, client, auth, make_page):
    make_page("HR/Plan", "The reorganisation.\n")
    auth.login("admin")
    post_form(client, "/admin/groups/add", {"group": "hr", "users": "bob, reader"})
    assert rows(client.get("/admin/groups"))[1][:1] == ["group:hr"]
    assert "bob" in rows(client.get("/admin/groups"))[1][1]
    post_form(client, "/admin/rules/set", {"prefix": "HR", "read": "group:hr", "write": ""})
    assert ["HR", "group:hr", "group:hr", "who can access remove"] in rows(
        client.get("/admin/rules"))

    editor = app.test_client()
    editor.get("/login")
    editor.post("/login", data={"name": "editor", "password": PASSWORD,
                                "csrf_token": csrf(editor)})
    assert editor.get("/wiki/HR/Plan").status_code == 404
    post_form(client, "/admin/groups/add", {"group": "hr", "users": "editor"})
    assert editor.get("/wiki/HR/Plan").status_code == 200
    post_form(client, "/admin/groups/remove", {"group": "hr", "user": "editor"})
    assert editor.get("/wiki/HR/Plan").status_code == 404
    post_form(client, "/admin/rules/remove", {"prefix": "HR"})
    assert editor.get("/wiki/HR/Plan").status_code == 200


def test_who_can_access_a_restricted_namespace(app, client, auth):
    services = app.extensions["kennis"]
    services.acl.add_members("hr", ["bob", "reader"], actor="test")
    services.acl.set_rule("HR", "group:hr", "group:hr", actor="test")
    services.acl.set_rule("HR/Open", "users", "user:editor", actor="test")
    auth.login("admin")

    def access(page):
        response = client.get("/admin/access", query_string={"page": page})
        assert response.status_code == 200
        return response, {r[0]: r[1:] for r in rows(response)[1:]}

    response, table = access("hr/Salaries")  # need not exist; any case
    assert "Decided by the rule on HR" in response.get_data(as_text=True)
    assert table["Anonymous visitors"] == ["anonymous", "no", "no", "not named in the rule"]
    assert table["admin"][1:3] == ["yes", "yes"]
    assert table["bob"] == ["editor", "yes", "yes", "group:hr"]
    assert table["reader"] == ["reader", "yes", "no", "group:hr"]  # readers never write
    assert table["editor"] == ["editor", "no", "no", "not named in the rule"]

    response, table = access("HR/Open/Notes")  # the more specific rule decides
    assert "Decided by the rule on HR/Open" in response.get_data(as_text=True)
    assert table["editor"] == ["editor", "yes", "yes", "user:editor, users"]
    assert table["bob"][1:3] == ["yes", "no"]

    response, table = access("Team/Page")
    assert "the default applies" in response.get_data(as_text=True)
    assert table["editor"] == ["editor", "yes", "yes", "default"]
    assert table["Anonymous visitors"][1:3] == ["no", "no"]

    bad = client.get("/admin/access", query_string={"page": "../x"})
    assert bad.status_code == 400 and "cannot start with a dot" in bad.get_data(as_text=True)


def test_every_change_is_in_the_audit_log(app, client, auth, make_page, tmp_path):
    make_page("Old Name", "text\n")
    make_page("Gone", "text\n")
    auth.login("admin")
    post_form(client, "/admin/users/create", {"name": "dave", "password": PASSWORD,
                                              "role": "editor"})
    post_form(client, "/admin/users/role", {"user": "dave", "role": "reader"})
    post_form(client, "/admin/users/password", {"user": "dave", "password": "another-pass"})
    post_form(client, "/admin/users/sessions", {"user": "dave"})
    post_form(client, "/admin/groups/add", {"group": "team", "users": "dave"})
    post_form(client, "/admin/groups/remove", {"group": "team", "user": "dave"})
    post_form(client, "/admin/rules/set", {"prefix": "Team", "read": "users"})
    post_form(client, "/admin/rules/remove", {"prefix": "Team"})
    post_form(client, "/tokens/create", {"name": "portal"})
    token_id = app.extensions["kennis"].users.tokens()[0].id
    post_form(client, f"/tokens/revoke/{token_id}")
    post_form(client, "/rename/Old Name", {"to": "New Name"})
    post_form(client, "/delete/Gone")

    log = [r[1:4] for r in rows(client.get("/admin/audit"))[1:]]
    for entry in (["admin", "user.create", "dave"], ["admin", "user.role", "dave"],
                  ["admin", "user.password", "dave"], ["admin", "user.sessions", "dave"],
                  ["admin", "group.add", "team"], ["admin", "group.remove", "team"],
                  ["admin", "acl.set", "Team"], ["admin", "acl.remove", "Team"],
                  ["admin", "token.create", "admin"], ["admin", "token.revoke", "admin"],
                  ["admin", "page.rename", "Old Name"], ["admin", "page.delete", "Gone"]):
        assert entry in log, entry
    assert log[0] == ["admin", "page.delete", "Gone"]  # newest first


def test_the_command_line_records_as_cli(tmp_path):
    def run(*args, input=None):
        result = CliRunner().invoke(main, ["--home", str(tmp_path), *args], input=input,
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output

    run("init")
    run("user", "add", "erin", "--password-stdin", input="a-long-password\n")
    run("user", "passwd", "erin", "--password-stdin", input="another-password\n")
    run("token", "create", "erin")
    from wiki import config
    from wiki.services import build_services

    services = build_services(config.load(tmp_path, environ={}))
    try:
        events = [(e.actor, e.action, e.subject) for e in services.acl.events()]
    finally:
        services.db.dispose()
    assert events == [("cli", "token.create", "erin"), ("cli", "user.password", "erin"),
                      ("cli", "user.create", "erin")]
