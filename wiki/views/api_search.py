"""Search in the JSON API: /api/v1/search and /api/v1/search/suggest (OpenSearch suggestions).

Reads like the rest of the API (a session or a bearer token); results, counts, facets and
suggestions only ever come from pages the caller may read. CORS for the portal's origins is
added for every /api/v1/ GET by wiki/views/security.py (setting `cors_origins`).
"""

from flask import jsonify, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from wiki.search import KINDS, Filters
from wiki.views import services
from wiki.views.api import _reader
from wiki.views.search import hit_url

bp = Blueprint("api_search", __name__, url_prefix="/api/v1",
               description="Full-text search over the pages the caller may read.")


def init_app(app, api) -> None:
    app.extensions["csrf"].exempt(bp)
    api.register_blueprint(bp)


class SearchQuery(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=500))
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10_000))
    tag = fields.String(load_default="", validate=validate.Length(max=100))
    prefix = fields.String(load_default="", validate=validate.Length(max=255))
    author = fields.String(load_default="", validate=validate.Length(max=100))
    since = fields.Date(load_default=None)
    kind = fields.String(load_default="", validate=validate.OneOf(["", *KINDS]),
                         metadata={"description": "page, discussion or attachment."})
    sort = fields.String(load_default="relevance", validate=validate.OneOf(["relevance", "date"]))


class ResultSchema(Schema):
    path = fields.String(metadata={"description": "The page (of a thread or file: its page)."})
    title = fields.String()
    snippet = fields.String(metadata={"description": "Sanitized HTML, <mark> around hits."})
    score = fields.Float()
    updated = fields.DateTime(allow_none=True)
    kind = fields.String(metadata={"description": "page, discussion or attachment."})
    url = fields.String(metadata={"description": "The page, thread or file."})
    page_url = fields.String(allow_none=True,
                             metadata={"description": "The page (of a thread or file)."})


class FacetSchema(Schema):
    value = fields.String()
    count = fields.Integer()


class SearchResponse(Schema):
    total = fields.Integer()
    results = fields.List(fields.Nested(ResultSchema))
    suggestion = fields.String(allow_none=True, metadata={"description": "Did you mean."})
    partial = fields.Boolean(metadata={"description": "No page has every word; best matches."})
    indexing = fields.Boolean(metadata={"description": "The index is being built."})
    facets = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FacetSchema)))


class SuggestQuery(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=200))
    limit = fields.Integer(load_default=8, validate=validate.Range(1, 20))


def _search():
    return services().search


@bp.route("/search")
@bp.arguments(SearchQuery, location="query")
@bp.response(200, SearchResponse)
def search(query):
    """Ranked results with highlighted snippets, facets and "did you mean"."""
    since = query["since"].isoformat() if query["since"] else ""
    found = _search().search(
        _reader(), query["q"],
        Filters(tag=query["tag"], prefix=query["prefix"], author=query["author"], since=since,
                kind=query["kind"]),
        offset=query["offset"], limit=query["limit"], sort=query["sort"])
    return {
        "total": found.total,
        "results": [{"path": h.path, "title": h.title, "snippet": h.snippet, "score": h.score,
                     "updated": h.updated, "kind": h.kind, "url": hit_url(h, external=True),
                     "page_url": url_for("pages.view", name=h.path, _external=True)
                     if h.path else None}
                    for h in found.hits],
        "suggestion": found.suggestion, "partial": found.partial, "indexing": found.indexing,
        "facets": {name: [{"value": v, "count": n} for v, n in items]
                   for name, items in found.facets.items()},
    }


@bp.route("/search/suggest")
@bp.arguments(SuggestQuery, location="query")
@bp.response(200, description="OpenSearch suggestions: [query, [titles], [paths], [urls]].")
def suggest(query):
    """Page titles for as-you-type suggestions, in the OpenSearch suggestions format."""
    found = _search().suggest(_reader(), query["q"], limit=query["limit"])
    response = jsonify([query["q"], [s.title for s in found], [s.path for s in found],
                        [url_for("pages.view", name=s.path, _external=True) for s in found]])
    response.mimetype = "application/x-suggestions+json"
    return response
