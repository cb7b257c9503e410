"""Sections: cut out by heading, put back in place; fenced code and front matter ignored."""

import pytest

from wiki import sections
from wiki.errors import InvalidInput

PAGE = ("---\ntitle: T\n---\nintro\n# One\na\n## One.1\nb\n```\n# not a heading\n```\n"
        "# Two\nc\n")


def test_a_section_runs_to_the_next_heading_of_its_level_or_higher():
    assert sections.section(PAGE, 1) == "# One\na\n## One.1\nb\n```\n# not a heading\n```\n"
    assert sections.section(PAGE, 2) == "## One.1\nb\n```\n# not a heading\n```\n"
    assert sections.section(PAGE, 3) == "# Two\nc\n"


def test_replacing_a_section_keeps_every_other_byte():
    changed = sections.replace(PAGE, 3, "# Two\nC changed")
    assert changed == PAGE.replace("# Two\nc\n", "# Two\nC changed\n")
    assert sections.replace(PAGE, 2, sections.section(PAGE, 2)) == PAGE


@pytest.mark.parametrize("number", [0, 4, -1])
def test_a_missing_section_is_refused(number):
    with pytest.raises(InvalidInput):
        sections.section(PAGE, number)
