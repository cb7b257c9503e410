"""create_app(): reads like the table of contents of the wiki."""

from pathlib import Path

from flask import Flask, request, send_from_directory
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader
from werkzeug.exceptions import NotFound as HTTPNotFound

from wiki import auth, config, home, ratelimit
from wiki.services import build_services
from wiki.views.pagecache import PageViewCache

BUILTIN_THEMES = Path(__file__).resolve().parent / "themes"


def create_app(settings: config.Settings | None = None, **overrides) -> Flask:
    settings = settings or config.load(**overrides)
    home.ensure(settings)
    services = build_services(settings, background=True)

    app = Flask(__name__, static_folder=None)
    app.config.update(
        SECRET_KEY=home.secret_key(settings),
        MAX_CONTENT_LENGTH=settings.max_page_bytes * 2 + 64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        BABEL_DEFAULT_LOCALE=settings.default_language,
    )
    app.extensions["kennis"] = services
    app.extensions["kennis_views"] = PageViewCache()

    _init_theme(app, settings)
    Babel(app, locale_selector=_locale)
    app.extensions["csrf"] = CSRFProtect(app)
    auth.init_app(app, services.users)

    from wiki.views import account, admin, api, browse, errors, pages, security, templating, tokens

    errors.init_app(app)
    templating.init_app(app)
    security.init_app(app)
    app.register_blueprint(account.bp)
    app.register_blueprint(browse.bp)
    app.register_blueprint(pages.bp)
    from wiki.views import editing

    app.register_blueprint(editing.bp)
    from wiki.views import discussions as discussion_views

    discussion_views.init_app(app)
    app.register_blueprint(admin.bp)
    app.register_blueprint(tokens.bp)
    from wiki.views import search as search_views

    app.register_blueprint(search_views.bp)
    from wiki.views import attachments as attachment_views

    attachment_views.init_app(app)
    from wiki.views import freshness as freshness_views

    freshness_views.init_app(app)
    from wiki.views import questions as question_views

    app.register_blueprint(question_views.bp)
    from wiki.views import agenda as agenda_views

    agenda_views.init_app(app)
    from wiki.views import updates as update_views

    update_views.init_app(app)
    api.init_app(app)
    from wiki.views import git as git_views

    git_views.init_app(app)
    from wiki.views import health

    health.init_app(app)
    ratelimit.init_app(app, settings)  # last: it wraps the views that ask for a limit
    return app


def _locale() -> str:
    account = auth.current_account()
    if account.language:
        return account.language
    from flask import current_app

    default = current_app.extensions["kennis"].settings.default_language
    return request.accept_languages.best_match(["en", "nl"]) or default


def _init_theme(app: Flask, settings: config.Settings) -> None:
    """Templates and static files: the chosen theme first, then `default`.

    `{% extends "default:base.html" %}` lets a theme extend the file it overrides.
    """
    default = BUILTIN_THEMES / "default"
    chosen = settings.themes / settings.theme
    loaders = [FileSystemLoader(str(chosen / "templates"))] if settings.theme != "default" else []
    loaders += [FileSystemLoader(str(default / "templates")),
                PrefixLoader({"default": FileSystemLoader(str(default / "templates"))},
                             delimiter=":")]
    app.jinja_loader = ChoiceLoader(loaders)
    folders = [p / "static" for p in (chosen, default)]

    @app.route("/static/<path:filename>", endpoint="static")
    def static(filename: str):
        for folder in folders:
            if (folder / filename).is_file():
                return send_from_directory(folder, filename, max_age=3600)
        raise HTTPNotFound()
