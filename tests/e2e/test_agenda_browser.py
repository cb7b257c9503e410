"""A real browser, on a desk and on a phone: plan a weekly meeting, answer it, subscribe."""

from datetime import date, timedelta

import icalendar
import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.test_browser import Tab


@pytest.fixture(params=[(1366, 900), (375, 740)], ids=["desk", "phone"])
def tab(request, browser, server, tmp_path):
    width, height = request.param
    tab = Tab(browser, server, tmp_path, viewport={"width": width, "height": height},
              is_mobile=width < 600, has_touch=width < 600)
    yield tab
    tab.context.close()


def test_plan_a_weekly_meeting_answer_it_and_subscribe(tab, server):
    width = tab.page.viewport_size["width"]
    title = f"Weekly sync {width}"
    page = tab.page
    tab.login("alice")
    page.goto("/calendar/Team")
    page.get_by_role("link", name="New event").click()
    tuesday = date.today() + timedelta(days=(1 - date.today().weekday()) % 7 or 7)
    page.fill("#ev-title", title)
    page.fill("#ev-start", f"{tuesday.isoformat()}T09:00")
    page.fill("#ev-end", f"{tuesday.isoformat()}T09:30")
    page.fill("#ev-location", "Room 4")
    page.fill("#ev-repeat", "FREQ=WEEKLY;BYDAY=TU")
    page.get_by_role("button", name="Save event").click()
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator(".event-facts")).to_contain_text("FREQ=WEEKLY;BYDAY=TU")

    page.get_by_role("button", name="Going", exact=True).click()
    expect(page.get_by_role("button", name="Going", exact=True)).to_have_attribute(
        "aria-pressed", "true")
    expect(page.locator(".rsvp-counts")).to_contain_text("1 going: alice")

    page.goto("/calendar/Team")
    upcoming = page.locator("ol.upcoming li", has_text=title)
    expect(upcoming.first).to_contain_text("09:00")
    assert upcoming.count() >= 8  # weekly, for the next 60 days
    tab.shot(f"calendar-{width}")
    page.get_by_role("button", name="Show my subscription link").click()
    link = page.locator("code.feed-url")
    expect(link).to_contain_text("/calendar.ics?prefix=Team&token=")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll

    feed = requests.get(link.inner_text(), timeout=30)  # a calendar program: no cookies
    assert feed.headers["Content-Type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    ours = [e for e in events if str(e["summary"]) == title]
    assert len(ours) == 1
    assert ours[0].decoded("dtstart").strftime("%H:%M") == "09:00"
    tab.assert_no_js_errors()
