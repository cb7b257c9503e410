"""The web layer: Flask blueprints that read the request, call one service and answer."""

from flask import current_app

from wiki.services import Services


def services() -> Services:
    """The services of the app handling this request (built once by `create_app`)."""
    return current_app.extensions["kennis"]
