"""Events of a namespace or a page: create, edit, cancel, answer (RSVP), list occurrences.

Times are typed in a zone (the event's, by default the `timezone` setting) and stored in UTC
with that zone's name. Repetition is an RFC 5545 RRULE expanded by python-dateutil on the
*local wall clock* of the event's zone, then placed in the zone: a weekly 09:00 meeting stays
at 09:00 local when daylight-saving time starts or ends (expanding in UTC would move it).

Who may see an event is who may read its namespace or page; who may change it is who may write
there. An event nobody may read answers exactly like one that does not exist.
"""

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dateutil.rrule import rrulestr
from sqlalchemy import delete, select

from wiki import paths
from wiki.catalog import Catalog, Change, commit_message
from wiki.db import Database, EventAnswer, EventRow, utcnow
from wiki.errors import InvalidInput, NotFound, PageExists, Unauthorized
from wiki.permissions import Permissions
from wiki.render import Renderer
from wiki.repo import Write
from wiki.users import Account, commit_author

MAX_TITLE = 200
MAX_LOCATION = 500
MAX_DESCRIPTION = 20_000
MAX_RULE = 500
MAX_EXCEPTIONS = 200
MAX_RANGE = timedelta(days=400)  # a year and some: a month view, an upcoming list, a feed
MAX_OCCURRENCES = 1000  # per event per range: a daily rule over MAX_RANGE fits
MAX_LENGTH = timedelta(days=366)  # one occurrence
ANSWERS = ("yes", "maybe", "no")
# Sub-daily repetition would fill any range with thousands of occurrences; no meeting needs it.
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_RULE_PART = re.compile(r"^[A-Z]+=[A-Z0-9,+\-]+$")
_UNTIL = re.compile(r"UNTIL=(\d{8})(T(\d{6})(Z?))?")


class EventNotFound(NotFound):
    """This event does not exist."""


@dataclass(frozen=True)
class Answers:
    counts: dict[str, int]
    names: dict[str, tuple[str, ...]]
    mine: str | None


@dataclass(frozen=True)
class Event:
    id: int
    scope_kind: str  # namespace or page
    scope: str  # the namespace ("" = the whole wiki) or the page
    title: str
    start: datetime  # aware, in the event's zone
    end: datetime
    all_day: bool
    tz: str
    location: str
    description: str
    recurrence: str
    exceptions: tuple[date, ...]
    cancelled: bool
    agenda_page: str
    author: str
    created: datetime
    updated: datetime

    @property
    def namespace(self) -> str:
        return self.scope if self.scope_kind == "namespace" else paths.namespace(self.scope)

    @property
    def page(self) -> str | None:
        return self.scope if self.scope_kind == "page" else None

    @property
    def last_day(self) -> date:
        """The last day of an all-day event (its stored end is the midnight after it)."""
        return (self.end - timedelta(days=1)).date() if self.all_day else self.end.date()

    @property
    def link(self) -> bool:
        return self.location.startswith(("https://", "http://"))


@dataclass(frozen=True)
class Occurrence:
    event: Event
    start: datetime  # aware, in the event's zone
    end: datetime

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date() if self.event.all_day else self.end.date()


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"Unknown time zone: {str(name)[:64]}.") from exc


def parse_moment(value, tz: zoneinfo.ZoneInfo, what: str) -> datetime | date:
    """ISO 8601 date or date-time; a date-time without offset is local to `tz`."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    else:
        text = str(value or "").strip()
        if not text or len(text) > 40:
            raise InvalidInput(f"The {what} is missing or not a date.")
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError as exc:
            raise InvalidInput(f"The {what} is not a date or time (use 2026-03-24T09:00)."
                               ) from exc
    if moment.tzinfo is None:
        return moment.replace(tzinfo=tz)
    return moment.astimezone(tz)


def normalize_rule(rule: str, tz: zoneinfo.ZoneInfo) -> str:
    """The RRULE as stored (upper case, UNTIL in UTC as RFC 5545 wants with a TZID start), or
    InvalidInput for anything that is not one bounded, daily-or-slower rule."""
    text = (rule or "").strip().upper()
    if text.startswith("RRULE:"):
        text = text[6:]
    if not text:
        return ""
    if len(text) > MAX_RULE or any(not _RULE_PART.match(p) for p in text.split(";")):
        raise InvalidInput("The repetition is not an RRULE (e.g. FREQ=WEEKLY;INTERVAL=2).")
    parts = dict(p.split("=", 1) for p in text.split(";"))
    if parts.get("FREQ") not in FREQUENCIES:
        raise InvalidInput("A repetition must be daily, weekly, monthly or yearly.")
    until = _UNTIL.search(text)
    if until and not until.group(4):  # a local UNTIL: the last day or moment in the zone
        day, clock = until.group(1), until.group(3) or "235959"
        local = datetime.strptime(day + clock, "%Y%m%d%H%M%S").replace(tzinfo=tz)
        text = text.replace(until.group(0),
                            "UNTIL=" + local.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
    return text


def _local_rule(rule: str, tz: zoneinfo.ZoneInfo) -> str:
    """The stored rule with UNTIL on the local wall clock, to expand against a naive start."""
    def local(match: re.Match) -> str:
        moment = datetime.strptime(match.group(1) + (match.group(3) or "000000"),
                                   "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        return "UNTIL=" + moment.astimezone(tz).strftime("%Y%m%dT%H%M%S")
    return _UNTIL.sub(local, rule)


def expand(start: datetime, end: datetime, rule: str, exceptions: tuple[date, ...],
           range_from: datetime, range_to: datetime) -> list[tuple[datetime, datetime]]:
    """The (start, end) of each occurrence overlapping [range_from, range_to), at most
    MAX_OCCURRENCES, in the zone of `start`."""
    tz = start.tzinfo
    if not rule:
        return [(start, end)] if start < range_to and end > range_from else []
    wall_start = start.replace(tzinfo=None)
    length = end.replace(tzinfo=None) - wall_start  # in wall-clock time: 09:00-10:00 stays so
    skip = set(exceptions)
    ruleset = rrulestr("RRULE:" + _local_rule(rule, tz), dtstart=wall_start, forceset=True)
    first = (range_from.astimezone(tz).replace(tzinfo=None) - length)
    last = range_to.astimezone(tz).replace(tzinfo=None)
    found = []
    for wall in ruleset.xafter(first, count=MAX_OCCURRENCES * 4, inc=False):
        if wall >= last or len(found) >= MAX_OCCURRENCES:
            break
        if wall.date() in skip:
            continue
        begin = wall.replace(tzinfo=tz)
        finish = (wall + length).replace(tzinfo=tz)
        if finish > range_from and begin < range_to:
            found.append((begin, finish))
    return found


def check_range(range_from: datetime, range_to: datetime) -> None:
    if range_to <= range_from:
        raise InvalidInput("The end of the range must come after its start.")
    if range_to - range_from > MAX_RANGE:
        raise InvalidInput(f"A range can span at most {MAX_RANGE.days} days.")


def _to_event(row: EventRow) -> Event:
    tz = zoneinfo.ZoneInfo(row.tz)
    return Event(id=row.id, scope_kind=row.scope_kind, scope=row.scope_name, title=row.title,
                 start=row.start.astimezone(tz), end=row.end.astimezone(tz),
                 all_day=row.all_day, tz=row.tz, location=row.location,
                 description=row.description, recurrence=row.recurrence,
                 exceptions=tuple(date.fromisoformat(d) for d in row.exceptions.split(",")
                                  if d),
                 cancelled=row.cancelled, agenda_page=row.agenda_page,
                 author=row.author_name, created=row.created, updated=row.updated)


def _scope_key(kind: str, name: str) -> str:
    return ("page:" if kind == "page" else "ns:") + paths.key(name)


class Events:
    def __init__(self, db: Database, catalog: Catalog, renderer: Renderer,
                 permissions: Permissions, default_zone: str, author_host: str = "kennis.invalid"):
        self.db = db
        self.author_host = author_host  # commits name the account (users.commit_author)
        self.catalog = catalog
        self.renderer = renderer
        self.permissions = permissions
        self.default_zone = default_zone
        self.on_change: list[Callable[[Event], None]] = []

    # --- permissions ---------------------------------------------------------------------------

    def _readable(self, account: Account, event: Event) -> bool:
        # "" (the whole wiki) asks the default rule, as a top-level page would.
        return self.permissions.can_read(account, event.scope)

    def _require_read(self, account: Account, event: Event | None) -> Event:
        if event is None or not self._readable(account, event):
            self.permissions.refuse_unseen(account)
            raise EventNotFound()
        return event

    def _require_write(self, account: Account, kind: str, scope: str) -> None:
        self.permissions.require_write(account, scope or None)

    # --- reading -------------------------------------------------------------------------------

    def get(self, account: Account, event_id: int) -> Event:
        with self.db.session() as s:
            row = s.get(EventRow, event_id) if 0 < event_id < 2**62 else None
            event = _to_event(row) if row else None
        return self._require_read(account, event)

    def description_html(self, event: Event) -> str:
        return self.renderer.render(event.description).html if event.description else ""

    def _rows(self, prefix: str) -> list[Event]:
        with self.db.session() as s:
            query = select(EventRow).order_by(EventRow.start, EventRow.id)
            if prefix:
                key = paths.key(prefix)
                query = query.where(
                    (EventRow.scope_key.in_([f"ns:{key}", f"page:{key}"]))
                    | EventRow.scope_key.startswith(f"ns:{key}/", autoescape=True)
                    | EventRow.scope_key.startswith(f"page:{key}/", autoescape=True))
            return [_to_event(r) for r in s.scalars(query)]

    def readable(self, account: Account, prefix: str = "") -> list[Event]:
        """Every event under `prefix` the account may read (series, not occurrences)."""
        prefix = paths.normalize(prefix) if prefix else ""
        return [e for e in self._rows(prefix) if self._readable(account, e)]

    def occurrences(self, account: Account, prefix: str, range_from: datetime,
                    range_to: datetime) -> list[Occurrence]:
        """Occurrences of readable events overlapping the range, earliest first."""
        check_range(range_from, range_to)
        found = []
        for event in self.readable(account, prefix):
            if not event.recurrence and (event.end <= range_from or event.start >= range_to):
                continue
            for begin, finish in expand(event.start, event.end, event.recurrence,
                                        event.exceptions, range_from, range_to):
                found.append(Occurrence(event, begin, finish))
        found.sort(key=lambda o: (o.start, o.event.id))
        return found

    def of_page(self, account: Account, name: str) -> list[Event]:
        """Events on a page or whose agenda it is (the page shows them)."""
        key = paths.key(paths.normalize(name))
        with self.db.session() as s:
            rows = s.scalars(select(EventRow).where(
                (EventRow.scope_key == f"page:{key}") | (EventRow.agenda_page == name)
            ).order_by(EventRow.start))
            events = [_to_event(r) for r in rows]
        return [e for e in events if self._readable(account, e)]

    def answers(self, account: Account, event: Event) -> Answers:
        self._require_read(account, event)
        with self.db.session() as s:
            rows = s.scalars(select(EventAnswer).where(EventAnswer.event_id == event.id)
                             .order_by(EventAnswer.user_name)).all()
        counts = {a: sum(1 for r in rows if r.answer == a) for a in ANSWERS}
        names = {a: tuple(r.user_name for r in rows if r.answer == a) for a in ANSWERS}
        mine = next((r.answer for r in rows if r.user_id == account.id), None)
        return Answers(counts, names, mine)

    # --- writing -------------------------------------------------------------------------------

    def _fields(self, data: dict, current: Event | None) -> dict:
        """Checked column values from `data` (a create, or the changed fields of an edit)."""
        def pick(name, default):
            return data[name] if name in data and data[name] is not None else default

        tz_name = str(pick("timezone", current.tz if current else self.default_zone))
        tz = zone(tz_name)
        title = str(pick("title", current.title if current else "")).strip()
        if not title or len(title) > MAX_TITLE:
            raise InvalidInput(f"A title is needed, of at most {MAX_TITLE} characters.")
        all_day = bool(pick("all_day", current.all_day if current else False))
        start = parse_moment(pick("start", current.start if current else None), tz, "start")
        end_value = pick("end", (current.last_day if current and current.all_day
                                 else current.end) if current else None)
        if end_value is None or end_value == "":
            end_value = start if all_day else None
        if end_value is None:
            raise InvalidInput("The end is missing.")
        end = parse_moment(end_value, tz, "end")
        if all_day:
            first = start if not isinstance(start, datetime) else start.date()
            last = end if not isinstance(end, datetime) else end.date()
            if last < first:
                raise InvalidInput("The end comes before the start.")
            start = datetime.combine(first, time(), tz)
            end = datetime.combine(last + timedelta(days=1), time(), tz)
        else:
            if not isinstance(start, datetime):
                start = datetime.combine(start, time(9), tz)
            if not isinstance(end, datetime):
                raise InvalidInput("The end needs a time (or make it an all-day event).")
            if end <= start:
                raise InvalidInput("The end comes before the start.")
        if end - start > MAX_LENGTH:
            raise InvalidInput("An event can last at most a year; repeat it instead.")
        location = str(pick("location", current.location if current else "")).strip()
        description = str(pick("description", current.description if current else ""))
        if len(location) > MAX_LOCATION or len(description) > MAX_DESCRIPTION:
            raise InvalidInput("The location or description is too long.")
        rule = normalize_rule(str(pick("recurrence", current.recurrence if current else "")),
                              tz)
        raw = pick("exceptions", list(current.exceptions) if current else [])
        if isinstance(raw, str):
            raw = [p for p in re.split(r"[,\s]+", raw) if p]
        if not isinstance(raw, list | tuple) or len(raw) > MAX_EXCEPTIONS:
            raise InvalidInput("Exceptions are a list of dates.")
        exceptions = []
        for value in raw:
            moment = parse_moment(value, tz, "exception")
            exceptions.append(moment.date() if isinstance(moment, datetime) else moment)
        if rule:
            try:  # the rule must expand: rrulestr refuses what it cannot follow
                expand(start, end, rule, (), start, start + timedelta(days=1))
            except (ValueError, TypeError, OverflowError) as exc:
                raise InvalidInput("The repetition rule does not parse.") from exc
        return dict(title=title, start=start, end=end, all_day=all_day, tz=tz_name,
                    location=location, description=description, recurrence=rule,
                    exceptions=",".join(sorted({d.isoformat() for d in exceptions})))

    def _scope(self, data: dict) -> tuple[str, str]:
        page, namespace = data.get("page"), data.get("namespace")
        if page and namespace is not None and namespace != "":
            raise InvalidInput("An event belongs to a namespace or a page, not both.")
        if page:
            name = paths.normalize(str(page))
            return "page", name
        if namespace is None:
            raise InvalidInput("Name the event's namespace (\"\" for the whole wiki) or page.")
        return "namespace", paths.normalize(str(namespace)) if namespace else ""

    def create(self, account: Account, data: dict) -> Event:
        kind, scope = self._scope(data)
        self._require_write(account, kind, scope)
        if kind == "page":
            info = self.catalog.page(scope)
            if info is None:
                raise InvalidInput("That page does not exist.")
            scope = info.name
        values = self._fields(data, None)
        with self.db.session() as s:
            row = EventRow(scope_kind=kind, scope_key=_scope_key(kind, scope), scope_name=scope,
                           author_id=account.id, author_name=account.name, agenda_page="",
                           cancelled=False, **values)
            s.add(row)
            s.flush()
            event = _to_event(row)
        for listener in self.on_change:
            listener(event)
        return event

    def _writable(self, account: Account, event_id: int) -> Event:
        event = self.get(account, event_id)
        self._require_write(account, event.scope_kind, event.scope)
        return event

    def edit(self, account: Account, event_id: int, data: dict) -> Event:
        event = self._writable(account, event_id)
        values = self._fields(data, event)
        if "cancelled" in data and data["cancelled"] is not None:
            values["cancelled"] = bool(data["cancelled"])
        with self.db.session() as s:
            row = s.get(EventRow, event.id)
            for name, value in values.items():
                setattr(row, name, value)
            row.updated = utcnow()
            s.flush()
            event = _to_event(row)
        for listener in self.on_change:
            listener(event)
        return event

    def cancel(self, account: Account, event_id: int, cancelled: bool = True) -> Event:
        """Cancelled events stay listed (marked) so nobody wonders where a meeting went."""
        return self.edit(account, event_id, {"cancelled": cancelled})

    def answer(self, account: Account, event_id: int, answer: str) -> Answers:
        if account.is_anonymous:
            raise Unauthorized()
        event = self.get(account, event_id)
        if answer not in ANSWERS:
            raise InvalidInput("Answer yes, maybe or no.")
        if event.cancelled:
            raise InvalidInput("This event is cancelled.")
        with self.db.session() as s:
            s.execute(delete(EventAnswer).where(EventAnswer.event_id == event.id,
                                                EventAnswer.user_id == account.id))
            s.add(EventAnswer(event_id=event.id, user_id=account.id, user_name=account.name,
                              answer=answer, updated=utcnow()))
        return self.answers(account, event)

    def add_agenda(self, account: Account, event_id: int) -> str:
        """Make the event's agenda page in its namespace, linking the page to the event (a
        line on the page) and the event to the page; the existing one when it has one."""
        event = self._writable(account, event_id)
        if event.agenda_page and self.catalog.page(event.agenda_page):
            return event.agenda_page
        base = f"{event.title} {event.start.date().isoformat()}"
        base = re.sub(r"[/\\#?%\[\]|<>:*\"]", " ", base).strip()[:150] or "Agenda"
        prefix = f"{event.namespace}/" if event.namespace else ""
        chosen: dict = {}

        def plan(_head) -> Change:
            for n in range(1, 50):
                name = paths.normalize(prefix + (base if n == 1 else f"{base} ({n})"))
                if self.catalog.page(name) is None:
                    break
            else:
                raise PageExists()
            self.permissions.require_write(account, name)
            chosen["name"] = name
            when = (event.start.date().isoformat() if event.all_day
                    else event.start.strftime("%Y-%m-%d %H:%M"))
            text = (f"# {event.title} ({when})\n\n"
                    f"Event: [{event.title}](/event/{event.id})\n\n"
                    "## Agenda\n\n1. \n\n## Minutes\n\n")
            return Change([Write(paths.to_file(name), text.encode("utf-8"))],
                          commit_message("", f"Create {name} (agenda)"))

        self.catalog.commit(plan, commit_author(account, self.author_host))
        with self.db.session() as s:
            s.get(EventRow, event.id).agenda_page = chosen["name"]
        return chosen["name"]
