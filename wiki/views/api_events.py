"""Events in the JSON API (/api/v1/events): list occurrences, create, edit, cancel, answer.

Same rules as the pages API: reads take a session or a bearer token, writes need a token; an
event the caller may not read looks missing.
"""

from datetime import datetime, timedelta

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from wiki.db import utcnow
from wiki.events import ANSWERS, parse_moment, zone
from wiki.views import services
from wiki.views.api import _reader, _writer

bp = Blueprint("api_events", __name__, url_prefix="/api/v1",
               description="Events of namespaces and pages, with repetition and answers.")


def init_app(app, api) -> None:
    app.extensions["csrf"].exempt(bp)
    api.register_blueprint(bp)


class EventSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    start = fields.String(metadata={"description": "ISO 8601 with the local offset; a date "
                                                   "for all-day events."})
    end = fields.String(metadata={"description": "Exclusive end; for all-day events the "
                                                 "last day."})
    all_day = fields.Boolean()
    timezone = fields.String()
    location = fields.String()
    description = fields.String()
    html = fields.String()
    page = fields.String(allow_none=True)
    namespace = fields.String()
    recurrence = fields.String()
    exceptions = fields.List(fields.String())
    cancelled = fields.Boolean()
    agenda = fields.String(allow_none=True)
    author = fields.String()


class EventList(Schema):
    events = fields.List(fields.Nested(EventSchema))


class EventQuery(Schema):
    prefix = fields.String(load_default="")
    from_ = fields.String(data_key="from", load_default=None)
    to = fields.String(load_default=None)


class EventWrite(Schema):
    namespace = fields.String(allow_none=True)
    page = fields.String(allow_none=True)
    title = fields.String(validate=validate.Length(max=200))
    start = fields.String()
    end = fields.String(allow_none=True)
    all_day = fields.Boolean()
    timezone = fields.String()
    location = fields.String()
    description = fields.String()
    recurrence = fields.String()
    exceptions = fields.List(fields.String(), validate=validate.Length(max=200))
    cancelled = fields.Boolean()


class NewEvent(EventWrite):
    title = fields.String(required=True, validate=validate.Length(max=200))
    start = fields.String(required=True)


class AnswerRequest(Schema):
    answer = fields.String(required=True, validate=validate.OneOf(ANSWERS))


class AnswerCounts(Schema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    names = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    mine = fields.String(allow_none=True)


def _when(event, moment: datetime, end: bool = False) -> str:
    if event.all_day:
        return ((moment - timedelta(days=1)) if end else moment).date().isoformat()
    return moment.isoformat()


def event_json(event, start=None, end=None) -> dict:
    return {"id": event.id, "title": event.title,
            "start": _when(event, start or event.start),
            "end": _when(event, end or event.end, end=True), "all_day": event.all_day,
            "timezone": event.tz, "location": event.location,
            "description": event.description,
            "html": services().events.description_html(event),
            "page": event.page, "namespace": event.namespace,
            "recurrence": event.recurrence,
            "exceptions": [d.isoformat() for d in event.exceptions],
            "cancelled": event.cancelled, "agenda": event.agenda_page or None,
            "author": event.author}


def _range(query) -> tuple[datetime, datetime]:
    tz = zone(services().settings.timezone)
    start = parse_moment(query["from_"], tz, "from") if query["from_"] else utcnow()
    if not isinstance(start, datetime):
        start = datetime.combine(start, datetime.min.time(), tz)
    end = parse_moment(query["to"], tz, "to") if query["to"] else start + timedelta(days=90)
    if not isinstance(end, datetime):
        end = datetime.combine(end, datetime.min.time(), tz)
    return start, end


@bp.route("/events")
class EventsResource(MethodView):
    @bp.arguments(EventQuery, location="query")
    @bp.response(200, EventList)
    def get(self, query):
        """Occurrences of the events the caller may read in a range (default: the next 90
        days; at most 400 days), repeating events expanded, earliest first."""
        start, end = _range(query)
        found = services().events.occurrences(_reader(), query["prefix"], start, end)
        return {"events": [event_json(o.event, o.start, o.end) for o in found]}

    @bp.arguments(NewEvent)
    @bp.response(201, EventSchema)
    def post(self, body):
        """Create an event in a namespace (`""`: the whole wiki) or on a page."""
        return event_json(services().events.create(_writer(), body)), 201


@bp.route("/events/<int:event_id>")
class EventResource(MethodView):
    @bp.response(200, EventSchema)
    def get(self, event_id):
        """One event (the series, for a repeating one)."""
        return event_json(services().events.get(_reader(), event_id))

    @bp.arguments(EventWrite)
    @bp.response(200, EventSchema)
    def patch(self, body, event_id):
        """Change an event; `cancelled: false` restores a cancelled one."""
        body.pop("namespace", None)
        body.pop("page", None)
        return event_json(services().events.edit(_writer(), event_id, body))

    @bp.response(200, EventSchema)
    def delete(self, event_id):
        """Cancel an event: it stays listed, marked cancelled."""
        return event_json(services().events.cancel(_writer(), event_id))


@bp.route("/events/<int:event_id>/rsvp", methods=["POST"])
@bp.arguments(AnswerRequest)
@bp.response(200, AnswerCounts)
def rsvp(body, event_id):
    """Answer going (`yes`), `maybe` or not going (`no`); returns the counts and names."""
    answers = services().events.answer(_writer(), event_id, body["answer"])
    return {"counts": answers.counts, "names": {k: list(v) for k, v in answers.names.items()},
            "mine": answers.mine}
