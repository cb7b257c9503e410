"""Freshness in the JSON API (issue 16): verify, flag and the reports.

Writes need a bearer token like the rest of the API; every answer only covers pages the
caller may read (`services().freshness` checks).
"""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from wiki.views import services
from wiki.views.api import _reader, _writer

bp = Blueprint("api_freshness", __name__, url_prefix="/api/v1",
               description="Page owners, verification, flags and content reports.")


def init_app(app, api) -> None:
    app.extensions["csrf"].exempt(bp)
    api.register_blueprint(bp)


def page_fields(account, name: str) -> dict:
    """`owner`, `review_by`, `verified`, `freshness` for GET /api/v1/pages/{path}."""
    fresh = services().freshness.of(account, name)
    return {"owner": fresh.owner, "review_by": fresh.review_by,
            "verified": {"by": fresh.verified.by, "on": fresh.verified.on}
            if fresh.verified else None, "freshness": fresh.state}


class VerifyResponse(Schema):
    path = fields.String()
    revision = fields.String()
    review_by = fields.Date(allow_none=True)


class FlagRequest(Schema):
    reason = fields.String(required=True)


class FlagResponse(Schema):
    id = fields.Integer()
    path = fields.String()
    reason = fields.String()


class ReportQuery(Schema):
    prefix = fields.String(load_default="", validate=validate.Length(max=255))
    owner = fields.String(load_default="", validate=validate.Length(max=200))


class VerifiedSchema(Schema):
    by = fields.String()
    on = fields.Date()


class FreshnessRow(Schema):
    path = fields.String()
    owner = fields.String(allow_none=True)
    review_by = fields.Date(allow_none=True)
    verified = fields.Nested(VerifiedSchema, allow_none=True)
    freshness = fields.String()


class FreshnessReport(Schema):
    pages = fields.List(fields.Nested(FreshnessRow))


class LinksQuery(Schema):
    prefix = fields.String(load_default="", validate=validate.Length(max=255))


class BrokenLink(Schema):
    from_ = fields.String(data_key="from")
    to = fields.String()


class WantedPage(Schema):
    path = fields.String()
    links = fields.Integer()


class LinksReport(Schema):
    broken = fields.List(fields.Nested(BrokenLink))
    wanted = fields.List(fields.Nested(WantedPage))
    orphans = fields.List(fields.String())


@bp.route("/verify/<path:path>", methods=["POST"])
@bp.response(200, VerifyResponse)
def verify(path):
    """Mark the page verified (its owner or an admin): a commit of its front matter."""
    result = services().freshness.verify(_writer(), path)
    return {"path": result.name, "revision": result.revision, "review_by": result.review_by}


@bp.route("/flag/<path:path>", methods=["POST"])
@bp.arguments(FlagRequest)
@bp.response(201, FlagResponse)
def flag(body, path):
    """Flag the page as outdated or wrong; its owner hears of it."""
    flagged = services().freshness.flag(_writer(), path, body["reason"])
    return {"id": flagged.id, "path": flagged.page_name, "reason": flagged.reason}


@bp.route("/reports/freshness")
@bp.arguments(ReportQuery, location="query")
@bp.response(200, FreshnessReport)
def freshness_report(query):
    """Freshness of the pages the caller may read, most overdue first."""
    rows = services().freshness.report(_reader(), query["prefix"], query["owner"])
    return {"pages": [{"path": f.name, "owner": f.owner, "review_by": f.review_by,
                       "verified": {"by": f.verified.by, "on": f.verified.on}
                       if f.verified else None, "freshness": f.state} for f in rows]}


@bp.route("/reports/links")
@bp.arguments(LinksQuery, location="query")
@bp.response(200, LinksReport)
def links_report(query):
    """Broken links, wanted pages and orphans among the pages the caller may read."""
    report = services().freshness.links(_reader(), query["prefix"])
    return {"broken": [{"from_": a, "to": b} for a, b in report.broken],
            "wanted": [{"path": p, "links": n} for p, n in report.wanted],
            "orphans": report.orphans}
