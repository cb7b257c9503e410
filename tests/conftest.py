"""Fixtures: a fresh wiki in tmp_path, a test client, a login helper and a page factory."""

import pytest

from wiki import config, home
from wiki.app import create_app
from wiki.services import build_services

PASSWORD = "correct-horse-battery"


@pytest.fixture
def settings(tmp_path):
    return config.load(tmp_path, environ={})


@pytest.fixture
def services(settings):
    services = build_services(settings)
    home.initialize(services)
    yield services
    services.db.dispose()


@pytest.fixture
def app(settings, services):
    for name, role in (("admin", "admin"), ("editor", "editor"), ("reader", "reader"),
                       ("bob", "editor")):
        services.users.create(name, PASSWORD, role=role, email=f"{name}@example.org")
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["kennis"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, name="editor", password=PASSWORD):
        self.client.get("/login")
        return self.client.post("/login", data={"name": name, "password": password,
                                                "csrf_token": csrf(self.client)})

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": csrf(self.client)})


def csrf(client) -> str:
    """The CSRF token of the client's session (as a form would carry it)."""
    from flask import session
    from flask_wtf.csrf import generate_csrf

    with client.application.test_request_context():
        with client.session_transaction() as sess:
            stored = dict(sess)
        session.update(stored)
        token = generate_csrf()
        new_raw = session.get("csrf_token")
    with client.session_transaction() as sess:
        sess["csrf_token"] = new_raw
    return token


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def make_page(app):
    """Save a page as a user through the service layer: make_page("A", "text", user="bob")."""
    services = app.extensions["kennis"]

    def make(name, text="Some text.\n", user="editor", message=""):
        account = services.users.by_name(user)
        return services.pages.save(account, name, text, message)

    return make


@pytest.fixture
def token(app):
    """An API token for a user: token("editor") -> 'kennis_…'."""
    users = app.extensions["kennis"].users

    def make(user="editor"):
        return users.create_token(user, "tests")

    return make


def post_form(client, url, data=None, **kwargs):
    data = dict(data or {})
    data.setdefault("csrf_token", csrf(client))
    return client.post(url, data=data, **kwargs)
