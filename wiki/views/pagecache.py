"""Whole rendered page views, shared by everyone who sees the same thing.

A page view looks the same for every reader with the same language and rights until the
branch moves, except for the account box (name, logout form with its CSRF token). The view
is rendered once with a marker where that box goes; each request renders just the box.
Entries are keyed by the page's revision and everything else that can make two views of it
differ (`_view_key` in views/pages.py): a save of the page makes its entries unreachable at
once, while saves of other pages leave them valid. The oldest go past LIMIT.
"""

import threading
import zlib
from collections import OrderedDict

from flask import current_app, g, render_template, session
from flask_babel import get_locale
from markupsafe import Markup

from wiki.auth import current_account

MARKER = "<!--kennis:account-box-->"
LIMIT = 12_000  # views kept per worker process (about 3 KB each, compressed)


class PageViewCache:
    def __init__(self):
        self._entries: OrderedDict = OrderedDict()
        self._boxes: dict = {}
        self._lock = threading.Lock()

    def box(self) -> str:
        """The account box of a logged-in user, kept per session's CSRF secret and language.

        The signed CSRF token in it stays valid as long as the session's secret (tokens have
        no time limit here), so the same box can be served for every view of that session.
        """
        account = current_account()
        secret = session.get("csrf_token")
        if account.is_anonymous or not secret:
            return render_template("_account.html")
        key = (account.id, account.session_version, account.label, str(get_locale()), secret,
               current_app.jinja_env.globals["inbox_unread"]())  # the inbox badge
        html = self._boxes.get(key)
        if html is None:
            html = render_template("_account.html")
            with self._lock:
                if len(self._boxes) >= LIMIT:
                    self._boxes.clear()
                self._boxes[key] = html
        return html

    def get(self, key) -> str | None:
        with self._lock:
            packed = self._entries.get(key)
            if packed is not None:
                self._entries.move_to_end(key)
        if packed is None:
            return None
        return zlib.decompress(packed).decode("utf-8").replace(MARKER, account_box_html(), 1)

    def render(self, key, template: str, **context) -> str:
        g.kennis_account_box_marker = True
        try:
            html = render_template(template, **context)
        finally:
            g.kennis_account_box_marker = False
        # Compressed: a 12 KB view keeps in about 3 KB, so a worker holds a whole wiki.
        packed = zlib.compress(html.encode("utf-8"), 1)
        with self._lock:
            self._entries[key] = packed
            while len(self._entries) > LIMIT:
                self._entries.popitem(last=False)  # least recently viewed first
        return html.replace(MARKER, account_box_html(), 1)


def account_box_html() -> str:
    return current_app.extensions["kennis_views"].box()


def account_box() -> Markup:
    """Template global: the account box, or its marker while a shared view is rendered."""
    # Both are our own template output (autoescaped), not user input.
    if g.get("kennis_account_box_marker"):
        return Markup(MARKER)  # noqa: S704
    return Markup(account_box_html())  # noqa: S704
