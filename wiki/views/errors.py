"""The one place that turns named errors into responses: JSON under /api, HTML elsewhere."""

from flask import jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, TooManyRequests

from wiki import ratelimit
from wiki.errors import EditConflict, Unauthorized, WikiError


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, **extra):
    if wants_json():
        body = {"error": {"code": code, "message": message}, **extra}
        return jsonify(body), status
    # A refused action on a page links back to it (the page answers for itself whether
    # the reader may see it: a hidden one looks missing there too).
    name = (request.view_args or {}).get("name")
    back_to = name if isinstance(name, str) and status in (403, 409) else None
    return render_template("error.html", status=status, code=code, message=message,
                           back_to=back_to), status


def http_error(exc: HTTPException):
    """Werkzeug's HTTP errors in our words (the API's own handler calls this too)."""
    messages = {
        404: _("There is nothing here."),
        405: _("This address does not accept that method."),
        413: _("What you sent is too large."),
    }
    code = (exc.name or "error").lower().replace(" ", "_")
    return error_response(exc.code or 500, code,
                          messages.get(exc.code, exc.description or exc.name))


def init_app(app) -> None:
    @app.errorhandler(WikiError)
    def wiki_error(exc: WikiError):
        if isinstance(exc, Unauthorized) and not wants_json():
            return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
        extra = {}
        if isinstance(exc, EditConflict):
            extra["conflict"] = {"base": exc.base, "theirs": exc.theirs, "yours": exc.yours,
                                 "merged_with_markers": exc.merged_with_markers,
                                 "revision": exc.head_revision}
        return error_response(exc.status, exc.code, exc.message, **extra)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(400, "csrf", _("The form expired or was sent from elsewhere. "
                                             "Go back, reload the page and try again."))

    app.register_error_handler(HTTPException, http_error)

    @app.errorhandler(TooManyRequests)
    def too_many(exc: TooManyRequests):
        # The same words whether the account exists or not (no user enumeration).
        response = make_response(error_response(
            429, "too_many_requests",
            _("Too many failed attempts. Please wait a minute and try again.")))
        response.headers["Retry-After"] = str(ratelimit.retry_after() or 60)
        return response

    @app.errorhandler(UnicodeDecodeError)
    def bad_encoding(exc):
        return error_response(400, "invalid_encoding", _("The request is not valid UTF-8."))
