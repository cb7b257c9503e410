"""iCalendar (RFC 5545) feeds of events: the one door to the `icalendar` library.

A feed holds each event once, with its RRULE and EXDATEs, so calendar programs (Outlook,
Google Calendar, Thunderbird) expand repetitions themselves; times carry their TZID and the
feed carries the matching VTIMEZONE. Cancelled events stay in, with STATUS:CANCELLED, so a
subscribed calendar removes the meeting instead of keeping a stale copy.
"""

from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, vRecur
from icalendar import Event as VEvent

from wiki.db import utcnow
from wiki.events import Event


def feed(events: Iterable[Event], name: str, host: str, base: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Kennis//Agenda//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    stamp = utcnow()
    for event in events:
        item = VEvent()
        item.add("uid", f"event-{event.id}@{host}")
        item.add("dtstamp", stamp)
        item.add("summary", event.title)
        if event.all_day:
            item.add("dtstart", event.start.date())
            item.add("dtend", event.end.date())
        else:
            item.add("dtstart", event.start)
            item.add("dtend", event.end)
        if event.recurrence:
            item.add("rrule", vRecur.from_ical(event.recurrence))
            for day in event.exceptions:
                if event.all_day:
                    item.add("exdate", day)
                else:
                    item.add("exdate", datetime.combine(day, event.start.timetz()))
        if event.location:
            item.add("location", event.location)
        if event.description:
            item.add("description", event.description)
        item.add("url", f"{base}/event/{event.id}")
        item.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
        item.add("last-modified", event.updated)
        calendar.add_component(item)
    calendar.add_missing_timezones()
    return calendar.to_ical()
