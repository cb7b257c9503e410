"""The JSON API under /api/v1, with its OpenAPI document generated from this code.

flask-smorest builds the document from the marshmallow schemas below. Reads accept a browser
session or a bearer token; writes need a bearer token (a session cookie never writes here,
which also makes CSRF moot for this blueprint).
"""

from apispec import BasePlugin
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import HTTPException

from wiki import paths
from wiki.auth import caller
from wiki.errors import PermissionDenied, Unauthorized
from wiki.views import services
from wiki.views.errors import error_response, http_error

bp = Blueprint("api", __name__, url_prefix="/api/v1",
               description="Pages of the wiki: read, write, move, history and diffs.")


class ErrorBody(Schema):
    code = fields.String()
    message = fields.String()


class ErrorSchema(Schema):
    """Every error: {"error": {"code", "message"}}."""

    error = fields.Nested(ErrorBody)


class _Api(Api):
    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its errors (_ErrorAnswers)

    def handle_http_exception(self, error: HTTPException):
        if error.code == 422:  # webargs validation: report it as bad input, field by field
            messages = (getattr(error, "data", None) or {}).get("messages", {})
            return error_response(400, "invalid_input", "The request is not valid.",
                                  fields=_flatten(messages))
        return http_error(error)


def _flatten(messages) -> dict:
    out = {}
    for location in messages.values() if isinstance(messages, dict) else []:
        if isinstance(location, dict):
            out.update(location)
    return out


_ERRORS = {
    "400": "Bad input: a page name that is not allowed, bad JSON, wrong types or missing "
           "fields.",
    "401": "No bearer token or session, or the token is not valid.",
    "403": "The caller may not do this (writing through the API needs a bearer token).",
    "404": "Not found, or the caller may not read it (the two look the same).",
    "409": "A conflict: the name is taken, or the edit overlaps another one.",
    "413": "The request is too large.",
    "429": "Too many bad bearer tokens from this address; wait as `Retry-After` says.",
}


class _ErrorAnswers(BasePlugin):
    """Declares on every operation of every API blueprint the errors it can really answer
    with, instead of flask-smorest's `422` (we answer 400) and catch-all `default`, so the
    document stays truthful; schemathesis checks it against a live server in CI."""

    def path_helper(self, path=None, operations=None, parameters=None, **kwargs):
        for parameter in parameters or []:
            if parameter.get("in") == "path" and parameter.get("name") == "path":
                parameter["schema"] = {"type": "string", "minLength": 1}
                parameter["description"] = "A page name; may contain slashes (`Team/Home`)."

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if method == "parameters":
                continue
            responses = {str(code): answer for code, answer
                         in operation.get("responses", {}).items()
                         if str(code) not in ("default", "422")}
            operation["responses"] = responses
            codes = {"400", "401", "429"}
            names_a_page = any(p.get("in") == "query" and p.get("name") == "page"
                               for p in operation.get("parameters", []))
            if "{" in (path or "") or names_a_page:  # a page or item that may not be there
                codes.add("404")
            if method != "get":
                codes |= {"403", "404"}
            if method in ("put", "post", "patch"):
                codes |= {"409", "413"}
            for code in sorted(codes):
                responses.setdefault(code, _error_response(code))


def _error_response(code: str) -> dict:
    answer = {"description": _ERRORS[code],
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if code == "429":
        answer["headers"] = {"Retry-After": {"description": "Seconds to wait.",
                                             "schema": {"type": "integer"}}}
    return answer


def init_app(app) -> None:
    app.config.update(
        API_TITLE="Kennis",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearer": []}]},
    )
    api = _Api(app, spec_kwargs={"extra_plugins": [_ErrorAnswers()]})
    app.extensions["csrf"].exempt(bp)
    api.register_blueprint(bp)
    from wiki.views import api_discussions  # imports this module's helpers

    api_discussions.init_app(app, api)
    from wiki.views import api_search

    api_search.init_app(app, api)
    from wiki.views import api_freshness

    api_freshness.init_app(app, api)
    from wiki.views import api_questions

    api_questions.init_app(app, api)
    from wiki.views import api_events

    api_events.init_app(app, api)
    from wiki.views import api_updates

    api_updates.init_app(app, api)


# --- schemas ---------------------------------------------------------------------------------

class PageSummary(Schema):
    path = fields.String()
    title = fields.String()
    updated = fields.DateTime()


class PageListQuery(Schema):
    prefix = fields.String(load_default="")
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


class PageList(Schema):
    total = fields.Integer()
    pages = fields.List(fields.Nested(PageSummary))


class PageSchema(Schema):
    path = fields.String()
    title = fields.String()
    markdown = fields.String()
    html = fields.String()
    revision = fields.String()
    author = fields.String()
    updated = fields.DateTime()
    tags = fields.List(fields.String())
    owner = fields.String(allow_none=True)  # issue 16: views/api_freshness.py
    review_by = fields.Date(allow_none=True)
    verified = fields.Dict(allow_none=True)
    freshness = fields.String()


class PageWrite(Schema):
    markdown = fields.String(required=True)
    message = fields.String(load_default="")
    base_revision = fields.String(load_default=None, allow_none=True)
    keep_conflict_markers = fields.Boolean(
        load_default=False, metadata={"description": "Save text that holds conflict markers "
                                      "(<<<<<<< yours … >>>>>>> theirs); refused otherwise."})


class WriteResult(Schema):
    path = fields.String()
    revision = fields.String()
    merged = fields.Boolean()
    created = fields.Boolean()


class MoveRequest(Schema):
    to = fields.String(required=True)
    message = fields.String(load_default="")
    rewrite_links = fields.Boolean(load_default=False)


class RevisionSchema(Schema):
    revision = fields.String()
    author = fields.String()
    pushed_by = fields.String(allow_none=True, metadata={
        "description": "who pushed this commit with git, when not its author; else null"})
    date = fields.DateTime()
    message = fields.String()
    action = fields.String()
    path = fields.String()


class HistoryQuery(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


class HistorySchema(Schema):
    revisions = fields.List(fields.Nested(RevisionSchema))


class DiffQuery(Schema):
    from_ = fields.String(data_key="from", load_default=None)
    to = fields.String(load_default=None)


class DiffSchema(Schema):
    from_ = fields.String(data_key="from", allow_none=True)
    to = fields.String()
    unified = fields.String()
    html = fields.String()


# --- helpers ---------------------------------------------------------------------------------


def _reader():
    found = caller()
    if found.via == "bad-token":
        raise Unauthorized("The token is not valid.")
    return found.account


def _writer():
    found = caller()
    if found.via != "token":
        if found.via in ("session", "proxy"):
            raise PermissionDenied("Writing through the API needs a bearer token.")
        raise Unauthorized("Writing through the API needs a bearer token.")
    return found.account


# --- routes ----------------------------------------------------------------------------------

@bp.route("/pages")
@bp.arguments(PageListQuery, location="query")
@bp.response(200, PageList)
def list_pages(query):
    """List pages, optionally under a namespace prefix."""
    total, pages = services().pages.index(_reader(), query["prefix"], limit=query["limit"],
                                  offset=query["offset"])
    return {"total": total,
            "pages": [{"path": p.name, "title": p.title, "updated": p.updated} for p in pages]}


@bp.route("/pages/<path:path>")
class PageResource(MethodView):
    @bp.response(200, PageSchema)
    def get(self, path):
        """Read a page: its Markdown, rendered HTML and current revision."""
        account = _reader()
        page = services().pages.view(account, path)
        source = services().pages.source(account, page.name)
        from wiki.views import api_freshness  # it imports this module's helpers
        return {"path": page.name, "title": page.title, "markdown": source.markdown,
                "html": page.html, "revision": page.revision, "author": page.author,
                "updated": page.updated, "tags": list(page.tags),
                **api_freshness.page_fields(account, page.name)}

    @bp.arguments(PageWrite)
    @bp.response(200, WriteResult)
    @bp.alt_response(201, schema=WriteResult)
    def put(self, body, path):
        """Create or update a page. With `base_revision`, concurrent edits are merged, or
        409 with the conflict when they overlap."""
        result = services().pages.save(_writer(), path, body["markdown"], body["message"],
                                       body["base_revision"],
                                       allow_markers=body["keep_conflict_markers"])
        payload = {"path": result.name, "revision": result.revision, "merged": result.merged,
                   "created": result.created}
        return payload, 201 if result.created else 200

    @bp.response(204)
    def delete(self, path):
        """Delete a page (its history is kept)."""
        services().pages.delete(_writer(), path)


@bp.route("/move/<path:path>", methods=["POST"])
@bp.arguments(MoveRequest)
@bp.response(200, WriteResult)
def move(body, path):
    """Rename a page; its history follows and the old name redirects."""
    revision = services().pages.rename(_writer(), path, body["to"],
                                       rewrite_links=body["rewrite_links"],
                                       message=body["message"])
    return {"path": paths.normalize(body["to"]), "revision": revision, "merged": False,
            "created": False}


@bp.route("/history/<path:path>")
@bp.arguments(HistoryQuery, location="query")
@bp.response(200, HistorySchema)
def history(query, path):
    """The page's revisions, newest first (following renames)."""
    rows = services().pages.history(_reader(), path, limit=query["limit"], offset=query["offset"])
    return {"revisions": [{"revision": r.revision, "author": r.author, "date": r.date,
                           "message": r.message, "action": r.action, "path": r.name,
                           "pushed_by": r.pushed_by or None}
                          for r in rows]}


@bp.route("/diff/<path:path>")
@bp.arguments(DiffQuery, location="query")
@bp.response(200, DiffSchema)
def diff(query, path):
    """Diff two revisions of a page (default: the current one against its predecessor)."""
    result = services().pages.diff(_reader(), path, query["from_"], query["to"])
    return {"from_": result.from_revision, "to": result.to_revision,
            "unified": result.diff.unified,
            "html": "" if result.diff.too_large else result.diff.inline_html()}
