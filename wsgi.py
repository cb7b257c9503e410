"""WSGI entry point for any server: `gunicorn wsgi:app` (settings from WIKI_* / wiki.toml)."""

from wiki.app import create_app

app = create_app()
