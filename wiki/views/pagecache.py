"""Whole rendered page views, shared by everyone who sees the same thing.

A page view looks the same for every reader with the same language and rights until the
branch moves, except for the account box (name, logout form with its CSRF token). The view
is rendered once with a marker where that box goes; each request renders just the box.
Entries are keyed by HEAD, so a save or push makes them unreachable at once.
"""

import threading

from flask import g, render_template
from markupsafe import Markup

MARKER = "<!--kennis:account-box-->"
LIMIT = 5000


class PageViewCache:
    def __init__(self):
        self._entries: dict = {}
        self._lock = threading.Lock()

    def get(self, key) -> str | None:
        html = self._entries.get(key)
        return None if html is None else html.replace(MARKER, account_box_html(), 1)

    def render(self, key, template: str, **context) -> str:
        g.kennis_account_box_marker = True
        try:
            html = render_template(template, **context)
        finally:
            g.kennis_account_box_marker = False
        with self._lock:
            if len(self._entries) >= LIMIT:
                self._entries.clear()
            self._entries[key] = html
        return html.replace(MARKER, account_box_html(), 1)


def account_box_html() -> str:
    return render_template("_account.html")


def account_box() -> Markup:
    """Template global: the account box, or its marker while a shared view is rendered."""
    # Both are our own template output (autoescaped), not user input.
    if g.get("kennis_account_box_marker"):
        return Markup(MARKER)  # noqa: S704
    return Markup(account_box_html())  # noqa: S704
