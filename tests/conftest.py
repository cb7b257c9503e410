"""Fixtures: a fresh wiki in tmp_path, a test client, a login helper and a page factory.

Every test gets a wiki of its own, copied from a pristine one built once per session (per set
of starting users): `wiki init`'s git processes, the migrations, the starter-pages commit and
argon2 hashing of the test users' passwords cost 1.7-3 s, a copy of the home a few ms. The
copy is a whole home (repository, database, instance files, caches) and nothing in it names
the folder it lives in, so the services built on it know only the copy.
"""

import shutil
import sqlite3

import pytest

from wiki import config, home
from wiki.app import create_app
from wiki.services import build_services

PASSWORD = "correct-horse-battery"
# (name, role, email) of the users every test using `app` starts with.
APP_USERS = tuple((name, role, f"{name}@example.org") for name, role in
                  (("admin", "admin"), ("editor", "editor"), ("reader", "reader"),
                   ("bob", "editor")))
HOME_FOLDERS = ("content", "instance", "cache", "search_index")


@pytest.fixture(scope="session")
def pristine(tmp_path_factory):
    """pristine(users) -> a wiki home after `wiki init` with those users, built once a session.

    Copy it, never use it: tests change their wiki."""
    built = {}

    def get(users=()):
        users = tuple(users)
        if users not in built:
            folder = tmp_path_factory.mktemp("pristine")
            settings = config.load(folder, environ={})
            services = build_services(settings)
            home.initialize(services)
            for name, role, email in users:
                services.users.create(name, PASSWORD, role=role, email=email)
            services.db.dispose()
            # Fold the write-ahead log into the file, so copying wiki.db alone is whole.
            with sqlite3.connect(settings.instance / "wiki.db") as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.close()
            built[users] = folder
        return built[users]

    return get


def copy_home(source, settings) -> None:
    """Copy a pristine home into `settings.home` (which may hold a test's own files)."""
    assert all(getattr(settings, name) == settings.home / folder for name, folder in
               (("content", "content"), ("instance", "instance"), ("cache", "cache"),
                ("index", "search_index"))), "copy_home needs the default folders"
    for folder in HOME_FOLDERS:
        if (source / folder).exists():
            shutil.copytree(source / folder, settings.home / folder, symlinks=True,
                            dirs_exist_ok=True)


@pytest.fixture
def wiki_users(request):
    """The users a test's wiki starts with: the app's when the test uses `app`, else none.
    A module overrides this fixture to start with others."""
    return APP_USERS if "app" in request.fixturenames else ()


@pytest.fixture
def settings(tmp_path):
    return config.load(tmp_path, environ={})


@pytest.fixture
def services(settings, pristine, wiki_users):
    copy_home(pristine(wiki_users), settings)
    services = build_services(settings)
    yield services
    services.db.dispose()


@pytest.fixture
def app(settings, services):
    """The web app on the test's wiki, with the users admin, editor, reader and bob."""
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["kennis"].db.dispose()


@pytest.fixture
def make_app(app, tmp_path):
    """make_app(**settings) -> another app on the same wiki (same users) with other settings."""
    made = []

    def make(**overrides):
        other = create_app(config.load(tmp_path, environ={}, **overrides))
        other.config["TESTING"] = True
        made.append(other)
        return other

    yield make
    for other in made:
        other.extensions["kennis"].db.dispose()


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
