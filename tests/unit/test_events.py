"""wiki/events.py: repetition on the local clock, time zones, bad input, permissions."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import PASSWORD
from wiki.errors import InvalidInput, NotFound, PermissionDenied
from wiki.events import expand, normalize_rule

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def wiki_users():
    return (("ann", "editor", "ann@example.org"), ("rob", "reader", "rob@example.org"),
            ("hrperson", "editor", "hr@example.org"))


@pytest.fixture
def wiki(services):
    services.acl.add_members("hr", ["hrperson"], actor="test")
    services.acl.set_rule("HR", "group:hr", None, actor="test")
    return services


def who(wiki, name):
    return wiki.users.by_name(name)


def test_a_weekly_meeting_stays_at_nine_local_across_the_spring_switch():
    start = datetime(2026, 3, 17, 9, 0, tzinfo=AMS)  # a Tuesday, before the switch (Mar 29)
    found = expand(start, start + timedelta(hours=1), "FREQ=WEEKLY", (),
                   datetime(2026, 3, 16, tzinfo=UTC), datetime(2026, 4, 15, tzinfo=UTC))
    assert [(s.strftime("%m-%d %H:%M"), e.strftime("%H:%M")) for s, e in found] == [
        ("03-17 09:00", "10:00"), ("03-24 09:00", "10:00"), ("03-31 09:00", "10:00"),
        ("04-07 09:00", "10:00"), ("04-14 09:00", "10:00")]
    # ... which in UTC is 08:00 before the switch and 07:00 after it.
    assert [s.astimezone(UTC).hour for s, _ in found] == [8, 8, 7, 7, 7]


def test_every_second_tuesday_with_an_exception_and_an_until_in_local_time():
    start = datetime(2026, 1, 6, 14, 30, tzinfo=AMS)
    rule = normalize_rule("rrule:freq=weekly;interval=2;byday=TU;until=20260303", AMS)
    assert rule.endswith("UNTIL=20260303T225959Z")  # stored in UTC, as RFC 5545 wants
    found = expand(start, start + timedelta(minutes=45), rule, (date(2026, 2, 3),),
                   datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
    assert [s.date().isoformat() for s, _ in found] == [
        "2026-01-06", "2026-01-20", "2026-02-17", "2026-03-03"]


def test_an_endless_rule_is_capped_by_the_range():
    start = datetime(2026, 1, 1, 8, tzinfo=AMS)
    found = expand(start, start + timedelta(hours=1), "FREQ=DAILY", (),
                   datetime(2026, 6, 1, tzinfo=AMS), datetime(2026, 6, 8, tzinfo=AMS))
    assert len(found) == 7
    assert found[0][0] == datetime(2026, 6, 1, 8, tzinfo=AMS)


@pytest.mark.parametrize("rule", ["FREQ=SECONDLY", "FREQ=HOURLY;COUNT=3", "FREQ=WEEKLY\nX=1",
                                  "EVERY TUESDAY", "FREQ=WEEKLY;BYDAY=XX", "DTSTART=2026"])
def test_rules_that_do_not_parse_or_run_sub_daily_are_refused(wiki, rule):
    with pytest.raises(InvalidInput):
        wiki.events.create(who(wiki, "ann"), {"namespace": "Team", "title": "T",
                                              "start": "2026-03-03T09:00",
                                              "end": "2026-03-03T10:00", "recurrence": rule})
    assert wiki.events.readable(who(wiki, "ann")) == []


@pytest.mark.parametrize("change", [
    {"end": "2026-03-03T08:00"}, {"timezone": "Mars/Olympus"}, {"title": ""},
    {"start": "yesterday"}, {"end": "2027-06-01T10:00"}, {"exceptions": ["soon"]},
])
def test_bad_input_is_refused_and_nothing_is_written(wiki, change):
    data = {"namespace": "Team", "title": "Sync", "start": "2026-03-03T09:00",
            "end": "2026-03-03T10:00", **change}
    with pytest.raises(InvalidInput):
        wiki.events.create(who(wiki, "ann"), data)
    assert wiki.events.readable(who(wiki, "ann")) == []


def test_times_without_zone_are_local_and_stored_in_utc(wiki):
    event = wiki.events.create(who(wiki, "ann"), {"namespace": "", "title": "Borrel",
                                                  "start": "2026-07-03T17:00",
                                                  "end": "2026-07-03T19:00Z"})
    assert event.start.isoformat() == "2026-07-03T17:00:00+02:00"
    assert event.end.isoformat() == "2026-07-03T21:00:00+02:00"
    assert event.tz == "Europe/Amsterdam"
    tokyo = wiki.events.create(who(wiki, "ann"), {"namespace": "", "title": "Call",
                                                  "timezone": "Asia/Tokyo",
                                                  "start": "2026-07-03T09:00",
                                                  "end": "2026-07-03T10:00"})
    assert tokyo.start.astimezone(UTC).hour == 0


def test_all_day_events_cover_whole_local_days(wiki):
    event = wiki.events.create(who(wiki, "ann"), {"namespace": "Team", "title": "Heidag",
                                                  "all_day": True, "start": "2026-10-30",
                                                  "end": "2026-10-31"})
    assert event.start == datetime(2026, 10, 30, tzinfo=AMS)
    assert event.last_day == date(2026, 10, 31)
    found = wiki.events.occurrences(who(wiki, "rob"), "Team", datetime(2026, 10, 31, 12,
                                    tzinfo=AMS), datetime(2026, 11, 30, tzinfo=AMS))
    assert [o.event.title for o in found] == ["Heidag"]


def test_restricted_events_are_invisible_and_unwritable_outside(wiki):
    secret = wiki.events.create(who(wiki, "hrperson"), {"namespace": "HR", "title": "Reorg",
                                                        "start": "2026-03-03T09:00",
                                                        "end": "2026-03-03T10:00"})
    ann = who(wiki, "ann")
    with pytest.raises(NotFound):
        wiki.events.get(ann, secret.id)
    with pytest.raises(NotFound):
        wiki.events.answer(ann, secret.id, "yes")
    with pytest.raises(NotFound):
        wiki.events.cancel(ann, secret.id)
    with pytest.raises(NotFound):
        wiki.events.create(ann, {"namespace": "HR/Sub", "title": "x",
                                 "start": "2026-03-03T09:00", "end": "2026-03-03T10:00"})
    assert wiki.events.readable(ann) == []
    assert [e.title for e in wiki.events.readable(who(wiki, "hrperson"), "hr")] == ["Reorg"]
    with pytest.raises(PermissionDenied):  # readers read, never write
        wiki.events.create(who(wiki, "rob"), {"namespace": "Team", "title": "x",
                                              "start": "2026-03-03T09:00",
                                              "end": "2026-03-03T10:00"})


def test_answers_count_and_name_people_and_cancelling_keeps_the_event(wiki):
    event = wiki.events.create(who(wiki, "ann"), {"namespace": "Team", "title": "Sync",
                                                  "start": "2026-03-03T09:00",
                                                  "end": "2026-03-03T10:00"})
    wiki.events.answer(who(wiki, "rob"), event.id, "maybe")
    wiki.events.answer(who(wiki, "ann"), event.id, "no")
    answers = wiki.events.answer(who(wiki, "ann"), event.id, "yes")  # changes her mind
    assert answers.counts == {"yes": 1, "maybe": 1, "no": 0}
    assert answers.names["maybe"] == ("rob",) and answers.mine == "yes"
    with pytest.raises(InvalidInput):
        wiki.events.answer(who(wiki, "rob"), event.id, "perhaps")
    wiki.events.cancel(who(wiki, "ann"), event.id)
    assert wiki.events.get(who(wiki, "rob"), event.id).cancelled


def test_add_agenda_makes_a_linked_page_in_the_namespace(wiki):
    wiki.users.create("carl", PASSWORD, role="editor")
    event = wiki.events.create(who(wiki, "ann"), {"namespace": "Team", "title": "Sync",
                                                  "start": "2026-03-03T09:00",
                                                  "end": "2026-03-03T10:00"})
    name = wiki.events.add_agenda(who(wiki, "carl"), event.id)
    assert name == "Team/Sync 2026-03-03"
    assert f"/event/{event.id}" in wiki.pages.source(who(wiki, "ann"), name).markdown
    assert wiki.events.get(who(wiki, "ann"), event.id).agenda_page == name
    assert wiki.events.add_agenda(who(wiki, "carl"), event.id) == name  # once
    assert [e.id for e in wiki.events.of_page(who(wiki, "ann"), name)] == [event.id]
