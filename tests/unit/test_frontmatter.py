"""Front matter as form fields: byte-exact round trips, one changed line per changed field."""

import tarfile
from pathlib import Path

import pytest

from wiki import frontmatter, home

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "tldr-pages-en-nl.tar.gz"

ODD = [
    "---\ntitle: Plan\n# a comment\nowner: user:anna\nreview_every: 6 months\n---\nBody\n",
    "---\r\ntitle: 'Quoted: yes'\r\ntags:\r\n  - a\r\n  - b\r\n---\r\n\r\nWindows\r\n",
    "---\n---\nempty block\n",
    "---\ntitle: [unclosed\n---\nnot YAML\n",
    "--- \ntags: x, y\nlang: nl\n---   \nspaces after the dashes",
    "\ufeff---\ntitle: BOM\n---\n",
    "no front matter at all\n---\nbut a rule\n",
    "",
]


def _round_trip(text: str) -> str:
    shown = frontmatter.fields(text)
    return frontmatter.compose(shown.block, shown.body, shown.title, shown.tags, shown.lang)


@pytest.mark.parametrize("text", ODD)
def test_odd_pages_round_trip_byte_exact(text):
    assert _round_trip(text) == text


def test_every_starter_page_round_trips():
    for path, data in home.starter_pages().items():
        assert _round_trip(data.decode()) == data.decode(), path


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not on this machine")
def test_every_corpus_page_round_trips_byte_exact():
    count = 0
    with tarfile.open(CORPUS) as archive:
        for member in archive:
            if not member.isfile() or not member.name.endswith(".md"):
                continue
            text = archive.extractfile(member).read().decode("utf-8")
            assert _round_trip(text) == text, member.name
            # With a title set, only the front matter changes: the body is kept byte for byte.
            shown = frontmatter.fields(text)
            titled = frontmatter.compose(shown.block, shown.body, "A new title", shown.tags,
                                         shown.lang)
            assert titled.endswith(shown.body) and "title: A new title\n" in titled
            count += 1
    assert count > 8000


def test_changing_one_field_changes_one_line():
    text = ODD[0]
    shown = frontmatter.fields(text)
    changed = frontmatter.compose(shown.block, shown.body, "Plan: v2", "x, y z", "nl")
    assert changed == ('---\ntitle: "Plan: v2"\n# a comment\nowner: user:anna\n'
                       "review_every: 6 months\ntags: [x, y z]\nlang: nl\n---\nBody\n")
    removed = frontmatter.compose(shown.block, shown.body, "", "", "")
    assert removed == "---\n# a comment\nowner: user:anna\nreview_every: 6 months\n---\nBody\n"


def test_a_list_value_is_replaced_whole():
    shown = frontmatter.fields(ODD[1])
    changed = frontmatter.compose(shown.block, shown.body, shown.title, "c", "")
    assert changed == "---\r\ntitle: 'Quoted: yes'\r\ntags: [c]\r\n---\r\n\r\nWindows\r\n"


def test_fields_on_a_page_without_front_matter_add_a_block():
    changed = frontmatter.compose("", "# Hi\n", "Hello", "", "en")
    assert changed == "---\ntitle: Hello\nlang: en\n---\n\n# Hi\n"
