"""The agenda in the browser: calendars (month and upcoming) per namespace and wiki-wide,
event pages with answers, the event form, "Add agenda", and the iCal feed `/calendar.ics`."""

import calendar as monthdays
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from babel import dates as babel_dates
from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from wiki import paths
from wiki.auth import current_account
from wiki.errors import InvalidInput, Unauthorized, WikiError
from wiki.events import zone
from wiki.ical import feed
from wiki.views import services
from wiki.views.feeds import feed_account

bp = Blueprint("agenda", __name__)
UPCOMING_DAYS = 60
FORM_FIELDS = ("title", "start", "end", "location", "description", "recurrence", "exceptions",
               "timezone")


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(_agenda_date, "agenda_date")


def _agenda_date(value: date | datetime, pattern: str) -> str:
    """A date in the reader's language, on the event's own clock (flask-babel's filter would
    first move a datetime to UTC, which can change its day)."""
    if isinstance(value, datetime):
        value = value.date()
    return babel_dates.format_date(value, pattern, locale=get_locale())


def _prefix(prefix: str) -> str:
    return paths.normalize(prefix) if prefix else ""


def _month(value: str | None, today: date) -> date:
    try:
        year, month = (int(p) for p in (value or "").split("-"))
        return date(year, month, 1) if 1900 < year < 3000 else today.replace(day=1)
    except ValueError:
        return today.replace(day=1)


def _base() -> str:
    return (services().settings.base_url or request.url_root).rstrip("/")


@bp.route("/calendar", defaults={"prefix": ""}, methods=["GET", "POST"])
@bp.route("/calendar/<path:prefix>", methods=["GET", "POST"])
def calendar(prefix: str):
    """Month view and upcoming list; POST makes a feed token and shows the subscribe link."""
    prefix = _prefix(prefix)
    account = current_account()
    services().permissions.refuse_unseen(account)
    if prefix:
        services().permissions.require_read(account, prefix)
    token = services().feeds.reset(account) if request.method == "POST" else None
    tz = zone(services().settings.timezone)
    today = datetime.now(tz).date()
    first = _month(request.args.get("month"), today)
    weeks = monthdays.Calendar().monthdatescalendar(first.year, first.month)
    grid_from = datetime.combine(weeks[0][0], datetime.min.time(), tz)
    grid_to = datetime.combine(weeks[-1][-1] + timedelta(days=1), datetime.min.time(), tz)
    events = services().events
    in_grid = events.occurrences(account, prefix, grid_from, grid_to)
    by_day: dict[date, list] = {}
    for occurrence in in_grid:
        day = occurrence.start.astimezone(tz).date()
        while day <= occurrence.last_day and day <= weeks[-1][-1]:
            by_day.setdefault(day, []).append(occurrence)
            day += timedelta(days=1)
    now = datetime.now(tz)
    upcoming = events.occurrences(account, prefix, now, now + timedelta(days=UPCOMING_DAYS))
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    may_add = services().permissions.can_write(account, prefix or None)
    return render_template("calendar.html", prefix=prefix, weeks=weeks, first=first,
                           today=today, by_day=by_day, upcoming=upcoming, token=token,
                           previous=previous, following=following, may_add=may_add,
                           base=_base(), has_token=bool(services().feeds.created(account)))


@bp.route("/calendar.ics")
def ics():
    """The iCal feed of `?prefix=` (default: everything) for `?token=`'s owner or the
    session; errors as short plain text, which calendar programs show."""
    prefix = request.args.get("prefix", "")
    try:
        account = feed_account()
        prefix = _prefix(prefix)
        if prefix:
            services().permissions.require_read(account, prefix)
        services().permissions.refuse_unseen(account)
        events = services().events.readable(account, prefix)
    except WikiError as exc:
        if isinstance(exc, Unauthorized):
            exc.message = _("This feed needs a feed link with your feed token: see %(url)s",
                            url=_base() + url_for("feeds.index"))
        return Response(exc.message + "\n", status=exc.status, mimetype="text/plain")
    name = services().settings.site_name + (f": {prefix}" if prefix else "")
    body = feed(events, name, urlsplit(_base()).hostname or "kennis", _base())
    response = Response(body, mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/event/<int:event_id>")
def view(event_id: int):
    account = current_account()
    events = services().events
    event = events.get(account, event_id)
    return render_template("event.html", event=event, answers=events.answers(account, event),
                           html=events.description_html(event),
                           may_edit=services().permissions.can_write(account,
                                                                     event.scope or None))


def _form_data(form) -> dict:
    data = {name: form.get(name, "") for name in FORM_FIELDS}
    data["all_day"] = bool(form.get("all_day"))
    if data["all_day"]:  # date inputs give a date; the time inputs may still hold values
        data["start"] = data["start"][:10]
        data["end"] = data["end"][:10]
    if not data["timezone"]:
        data.pop("timezone")
    return data


@bp.route("/events/new", methods=["GET", "POST"])
def new():
    account = current_account()
    scope = request.values.get("page") or request.values.get("namespace", "")
    kind = "page" if request.values.get("page") else "namespace"
    error = None
    if request.method == "POST":
        data = _form_data(request.form)
        data[kind] = scope
        try:
            event = services().events.create(account, data)
            return redirect(url_for(".view", event_id=event.id))
        except InvalidInput as exc:
            error = exc.message
    else:
        services().permissions.require_write(account, scope or None)
    return render_template("event_form.html", event=None, kind=kind, scope=scope,
                           form=request.form, error=error,
                           timezone=services().settings.timezone), 400 if error else 200


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
def edit(event_id: int):
    account = current_account()
    events = services().events
    event = events.get(account, event_id)
    services().permissions.require_write(account, event.scope or None)
    error = None
    if request.method == "POST":
        try:
            events.edit(account, event_id, _form_data(request.form))
            return redirect(url_for(".view", event_id=event_id))
        except InvalidInput as exc:
            error = exc.message
    return render_template("event_form.html", event=event, kind=event.scope_kind,
                           scope=event.scope, form=request.form, error=error,
                           timezone=event.tz), 400 if error else 200


@bp.route("/events/<int:event_id>/rsvp", methods=["POST"])
def rsvp(event_id: int):
    services().events.answer(current_account(), event_id, request.form.get("answer", ""))
    return redirect(url_for(".view", event_id=event_id))


@bp.route("/events/<int:event_id>/cancel", methods=["POST"])
def cancel(event_id: int):
    services().events.cancel(current_account(), event_id,
                             request.form.get("restore") is None)
    return redirect(url_for(".view", event_id=event_id))


@bp.route("/events/<int:event_id>/agenda", methods=["POST"])
def agenda(event_id: int):
    name = services().events.add_agenda(current_account(), event_id)
    return redirect(url_for("pages.view", name=name))
