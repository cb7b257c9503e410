"""Events through the API, the calendar pages and the iCal feed, with permissions."""

import icalendar
import pytest

from tests.conftest import PASSWORD, post_form

WEEKLY = {"namespace": "Team", "title": "Weekly sync", "start": "2026-03-17T09:00",
          "end": "2026-03-17T09:30", "recurrence": "FREQ=WEEKLY;BYDAY=TU",
          "exceptions": ["2026-03-31"], "location": "https://meet.example.org/sync",
          "description": "Bring **news**."}


@pytest.fixture
def hr(app):
    services = app.extensions["kennis"]
    services.users.create("hrperson", PASSWORD, role="editor")
    services.acl.add_members("hr", ["hrperson"], actor="test")
    services.acl.set_rule("HR", "group:hr", None, actor="test")
    return services


def bearer(token, user="editor"):
    return {"Authorization": f"Bearer {token(user)}"}


def test_create_list_and_expand_a_weekly_meeting(client, token):
    created = client.post("/api/v1/events", json=WEEKLY, headers=bearer(token))
    assert created.status_code == 201, created.json
    event = created.json
    assert event["start"] == "2026-03-17T09:00:00+01:00" and event["namespace"] == "Team"
    assert "<strong>news</strong>" in event["html"]
    listed = client.get("/api/v1/events?prefix=Team&from=2026-03-16&to=2026-04-15",
                        headers=bearer(token, "reader")).json["events"]
    # the 31st is an exception; from the 7th of April summer time: still 09:00 local
    assert [e["start"] for e in listed] == ["2026-03-17T09:00:00+01:00",
                                            "2026-03-24T09:00:00+01:00",
                                            "2026-04-07T09:00:00+02:00",
                                            "2026-04-14T09:00:00+02:00"]
    assert {e["id"] for e in listed} == {event["id"]}
    assert client.get("/api/v1/events?prefix=Other&from=2026-03-16&to=2026-04-15",
                      headers=bearer(token)).json["events"] == []


@pytest.mark.parametrize("body", [
    {**WEEKLY, "end": "2026-03-17T08:00"},
    {**WEEKLY, "timezone": "Europe/Atlantis"},
    {**WEEKLY, "recurrence": "FREQ=MINUTELY"},
    {**WEEKLY, "recurrence": "FREQ=WEEKLY;BYDAY=TUESDAY"},
    {**WEEKLY, "title": ""},
    {**WEEKLY, "start": 12},
    {key: value for key, value in WEEKLY.items() if key != "namespace"},
    {**WEEKLY, "namespace": "../etc"},
])
def test_bad_events_are_400_and_nothing_is_written(client, token, body):
    response = client.post("/api/v1/events", json=body, headers=bearer(token))
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] in ("invalid_input", "invalid_path")
    assert client.get("/api/v1/events?from=2026-01-01&to=2026-12-31",
                      headers=bearer(token)).json["events"] == []


def test_a_ten_year_range_is_refused(client, token):
    response = client.get("/api/v1/events?from=2026-01-01&to=2036-01-01", headers=bearer(token))
    assert response.status_code == 400


def test_patch_cancel_and_rsvp(client, token):
    event = client.post("/api/v1/events", json=WEEKLY, headers=bearer(token)).json
    url = f"/api/v1/events/{event['id']}"
    patched = client.patch(url, json={"title": "Weekly stand-up"}, headers=bearer(token))
    assert patched.json["title"] == "Weekly stand-up"
    assert patched.json["recurrence"] == "FREQ=WEEKLY;BYDAY=TU"
    assert client.patch(url, json={"end": "2026-03-01T08:00"},
                        headers=bearer(token)).status_code == 400
    answered = client.post(url + "/rsvp", json={"answer": "yes"}, headers=bearer(token, "reader"))
    assert answered.json["counts"] == {"yes": 1, "maybe": 0, "no": 0}
    assert answered.json["names"]["yes"] == ["reader"]
    assert client.post(url + "/rsvp", json={"answer": "ja"},
                       headers=bearer(token)).status_code == 400
    assert client.delete(url, headers=bearer(token, "reader")).status_code == 403
    cancelled = client.delete(url, headers=bearer(token))
    assert cancelled.status_code == 200 and cancelled.json["cancelled"] is True
    assert client.get(url, headers=bearer(token, "reader")).json["cancelled"] is True
    assert client.patch(url, json={"cancelled": False},
                        headers=bearer(token)).json["cancelled"] is False


def test_a_session_reads_but_does_not_write(client, auth, token):
    auth.login("editor")
    assert client.post("/api/v1/events", json=WEEKLY).status_code == 403
    assert client.get("/api/v1/events").status_code == 200


def test_restricted_events_never_reach_an_outsider(client, hr, token):
    secret = client.post("/api/v1/events", json={**WEEKLY, "namespace": "HR",
                                                 "title": "ZEBRA reorg"},
                         headers=bearer(token, "hrperson")).json
    missing = client.get("/api/v1/events/999999", headers=bearer(token))
    hidden = client.get(f"/api/v1/events/{secret['id']}", headers=bearer(token))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json == missing.json
    everything = client.get("/api/v1/events?from=2026-03-01&to=2026-06-01",
                            headers=bearer(token)).get_data(as_text=True)
    assert "ZEBRA" not in everything
    for method, url, body in [("post", "/rsvp", {"answer": "yes"}), ("patch", "", {"title": "x"}),
                              ("delete", "", None)]:
        response = getattr(client, method)(f"/api/v1/events/{secret['id']}{url}", json=body,
                                           headers=bearer(token))
        assert response.status_code == 404, (method, url)
    assert client.post("/api/v1/events", json={**WEEKLY, "namespace": "HR"},
                       headers=bearer(token)).status_code == 404
    assert client.get(f"/event/{secret['id']}").status_code in (302, 401)
    assert "ZEBRA" in client.get("/api/v1/events?prefix=HR&from=2026-03-01&to=2026-06-01",
                                 headers=bearer(token, "hrperson")).get_data(as_text=True)


def feed_token(client, auth, user):
    auth.login(user)
    page = post_form(client, "/calendar").get_data(as_text=True)
    auth.logout()
    start = page.index("/calendar.ics?token=")
    return page[start:page.index("<", start)].split("token=")[1]


def test_subscribe_to_the_ical_feed_with_a_token(client, auth, hr, token):
    mine = client.post("/api/v1/events", json=WEEKLY, headers=bearer(token)).json
    client.post("/api/v1/events", json={**WEEKLY, "namespace": "HR", "title": "ZEBRA reorg"},
                headers=bearer(token, "hrperson"))
    allday = client.post("/api/v1/events", json={"namespace": "", "title": "Heidag",
                                                 "all_day": True, "start": "2026-10-30",
                                                 "end": "2026-10-30"},
                         headers=bearer(token)).json
    client.delete(f"/api/v1/events/{allday['id']}", headers=bearer(token))
    secret = feed_token(client, auth, "bob")
    response = client.get(f"/calendar.ics?token={secret}")  # no session: the token decides
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "ZEBRA" not in response.get_data(as_text=True)
    calendar = icalendar.Calendar.from_ical(response.data)
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"Weekly sync", "Heidag"}
    weekly = events["Weekly sync"]
    api = client.get(f"/api/v1/events/{mine['id']}", headers=bearer(token, "bob")).json
    assert weekly.decoded("dtstart").isoformat() == api["start"]
    assert str(weekly["dtstart"].params["TZID"]) == "Europe/Amsterdam"
    assert weekly["rrule"].to_ical().decode() == api["recurrence"]
    assert [d.dt.date().isoformat() for d in weekly["exdate"].dts] == api["exceptions"]
    assert str(events["Heidag"]["status"]) == "CANCELLED"
    assert events["Heidag"].decoded("dtstart").isoformat() == "2026-10-30"
    assert calendar.walk("VTIMEZONE")  # the zone travels with the feed
    team = client.get(f"/calendar.ics?prefix=HR&token={secret}")
    assert team.status_code == 404 and "ZEBRA" not in team.get_data(as_text=True)
    # Revoked (reset) tokens get 404
    feed_token(client, auth, "bob")
    assert client.get(f"/calendar.ics?token={secret}").status_code == 404
    assert client.get("/calendar.ics").status_code == 401


def test_calendar_pages_and_event_forms(client, auth):
    auth.login("editor")
    made = post_form(client, "/events/new", {"namespace": "Team", "title": "Retro",
                                             "start": "2026-03-17T15:00",
                                             "end": "2026-03-17T16:00",
                                             "recurrence": "FREQ=WEEKLY;INTERVAL=2"})
    assert made.status_code == 302
    event_url = made.headers["Location"]
    assert "Retro" in client.get(event_url).get_data(as_text=True)
    month = client.get("/calendar/Team?month=2026-03").get_data(as_text=True)
    assert "Retro" in month and "15:00" in month
    bad = post_form(client, "/events/new", {"namespace": "Team", "title": "Bad",
                                            "start": "2026-03-17T15:00",
                                            "end": "2026-03-17T14:00"})
    assert bad.status_code == 400 and "before the start" in bad.get_data(as_text=True)
    event_id = int(event_url.rsplit("/", 1)[1])
    post_form(client, f"/events/{event_id}/rsvp", {"answer": "maybe"})
    assert "editor" in client.get(event_url).get_data(as_text=True)
    agenda = post_form(client, f"/events/{event_id}/agenda")
    assert agenda.status_code == 302 and "/wiki/Team/Retro" in agenda.headers["Location"]
    page = client.get(agenda.headers["Location"], follow_redirects=True)
    assert f"/event/{event_id}" in page.get_data(as_text=True)
    post_form(client, f"/events/{event_id}/cancel")
    assert "Cancelled" in client.get(event_url).get_data(as_text=True)
    auth.logout()
    auth.login("reader")
    assert post_form(client, f"/events/{event_id}/cancel").status_code == 403
    assert client.get("/events/new?namespace=Team").status_code == 403
