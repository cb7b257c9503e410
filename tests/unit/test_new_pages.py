"""New pages: names from titles, free names, templates filled in."""

import datetime

import pytest

from wiki import page_templates, titles
from wiki.errors import InvalidInput


@pytest.mark.parametrize("title, name", [
    ("Meeting notes 5 Dec: Q&A", "Meeting-notes-5-Dec-Q-A"),
    ("  Überblick   Café  ", "Überblick-Café"),
    ("../../etc/passwd", "etc-passwd"),
    (".git", "git"),
    ("Team/Plan", "Team-Plan"),
    ("日本語のページ", "日本語のページ"),
    ("Release 2.0 — what's new?", "Release-2-0-what-s-new"),
])
def test_names_keep_letters_and_digits_and_hyphenate_the_rest(title, name):
    assert titles.derive_name(title) == name


@pytest.mark.parametrize("title", ["", "   ", "!!!", "\u202e\u200b", "x" * 201])
def test_titles_that_cannot_name_a_page_are_refused(title):
    with pytest.raises(InvalidInput):
        titles.derive_name(title)


def test_long_titles_are_cut_at_a_hyphen():
    name = titles.derive_name("word " * 40)
    assert len(name) <= titles.MAX_NAME_CHARS and not name.endswith("-")
    assert name.startswith("word-word")


def test_a_taken_name_gets_a_number_never_the_same_name():
    taken = {"Plan", "Plan-2"}
    assert titles.available("Plan", taken.__contains__) == "Plan-3"
    assert titles.available("Free", taken.__contains__) == "Free"


def test_templates_are_pages_under_any_templates_namespace():
    assert page_templates.is_template("Templates/Meeting-notes")
    assert page_templates.is_template("Team/templates/Retro")
    assert not page_templates.is_template("Templates")
    assert not page_templates.is_template("Team/Plan")


def test_placeholders_are_filled_and_the_title_set():
    text = ("---\ntitle: Meeting notes\ntags: [meeting]\n---\n\n"
            "# {{title}}\n{{ date }} {{user}} {{other}}\n")
    filled = page_templates.fill(text, "Retro: week 49", "Anna", datetime.date(2026, 12, 5))
    assert filled == ('---\ntitle: "Retro: week 49"\ntags: [meeting]\n---\n\n'
                      "# Retro: week 49\n2026-12-05 Anna {{other}}\n")
