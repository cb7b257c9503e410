"""Interval parsing, freshness at its boundaries, and front matter edits that keep the file."""

from datetime import date

import pytest

from wiki.errors import InvalidInput
from wiki.freshness import Interval, parse_interval, parse_owner, state_of, with_front_matter
from wiki.render import split_front_matter


@pytest.mark.parametrize("text, expected", [
    ("6 months", Interval(6, "months")), ("1 year", Interval(1, "years")),
    ("2 weeks", Interval(2, "weeks")), (" 30 days ", Interval(30, "days")),
    ("6 maanden", Interval(6, "months")), ("1 Jaar", Interval(1, "years")),
])
def test_intervals_parse(text, expected):
    assert parse_interval(text) == expected


@pytest.mark.parametrize("text", ["", "six months", "0 days", "101 years", "6 fortnights",
                                  "6", "months", None, 6, "-1 days", "1e3 days"])
def test_bad_intervals_are_refused(text):
    with pytest.raises(InvalidInput):
        parse_interval(text)


def test_months_end_on_the_last_day_when_the_day_is_missing():
    assert Interval(6, "months").after(date(2026, 8, 31)) == date(2027, 2, 28)
    assert Interval(1, "years").after(date(2024, 2, 29)) == date(2025, 2, 28)
    assert Interval(2, "weeks").after(date(2026, 12, 25)) == date(2027, 1, 8)


def test_owners_parse():
    assert parse_owner("user:Eva") == "user:eva"
    assert parse_owner(" group:HR ") == "group:hr"
    for bad in ("eva", "team:x", "user:", "user:a b", None):
        with pytest.raises(InvalidInput):
            parse_owner(bad)


def test_freshness_at_the_boundaries():
    today = date(2026, 12, 5)
    assert state_of(True, date(2026, 12, 20), today) == "current"  # 15 days left
    assert state_of(True, date(2026, 12, 19), today) == "due"  # 14 days left
    assert state_of(True, today, today) == "due"  # the review day itself
    assert state_of(True, date(2026, 12, 4), today) == "overdue"
    assert state_of(False, date(2026, 12, 4), today) == "unowned"
    assert state_of(True, None, today) == "current"  # an owner but no interval


def test_front_matter_keys_are_added_and_replaced_keeping_every_other_byte():
    text = "---\r\ntitle: Plan  # mine\r\nverified_by: old\r\ntags: [a]\r\n---\r\nBody\r\n"
    new = with_front_matter(text, {"verified_by": "eva", "verified_on": "2026-12-05"})
    assert new == ("---\r\ntitle: Plan  # mine\r\nverified_by: eva\r\ntags: [a]\r\n"
                   "verified_on: 2026-12-05\r\n---\r\nBody\r\n")
    plain = with_front_matter("# Hi\n", {"verified_by": "eva"})
    assert plain == "---\nverified_by: eva\n---\n# Hi\n"
    odd = with_front_matter("---\n---\nx\n", {"verified_by": "o'neil: x"})
    assert split_front_matter(odd)[0] == {"verified_by": "o'neil: x"}
    assert odd.endswith("---\nx\n")
