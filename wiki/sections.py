"""Sections of a page for section editing: a section is a heading with everything up to the
next heading of the same or a higher level. Saving one goes through the page's 3-way merge
(the section is put back into the text it was cut from, at the base revision), so colleagues
editing different sections never conflict.

Headings are ATX (`#` … `######`) outside fenced code and outside the front matter, counted
from 1 in the order they appear — the order of the rendered page's headings.
"""

import re

from wiki import frontmatter
from wiki.errors import InvalidInput

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _headings(lines: list[str]) -> list[tuple[int, int]]:
    """(line index, level) of every heading."""
    found, fence = [], ""
    for index, line in enumerate(lines):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence) \
                    and not line.strip()[len(opened.group(1)):].strip():
                fence = ""
            continue
        if opened:
            fence = opened.group(1)
            continue
        heading = _ATX.match(line)
        if heading:
            found.append((index, len(heading.group(1))))
    return found


def _bounds(text: str, number: int) -> tuple[int, int]:
    """Character offsets [start, end) of section `number` in `text`, or InvalidInput."""
    block, body = frontmatter.split(text)
    lines = body.splitlines(keepends=True)
    headings = _headings(lines)
    if not isinstance(number, int) or not 1 <= number <= len(headings):
        raise InvalidInput("This section does not exist (any more); edit the whole page.")
    first, level = headings[number - 1]
    last = next((i for i, lvl in headings[number:] if lvl <= level), len(lines))
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    return len(block) + offsets[first], len(block) + offsets[last]


def section(text: str, number: int) -> str:
    start, end = _bounds(text, number)
    return text[start:end]


def replace(text: str, number: int, new: str) -> str:
    """`text` with section `number` replaced by `new` (which ends with a newline)."""
    start, end = _bounds(text, number)
    new = new.replace("\r\n", "\n")
    if new and not new.endswith("\n"):
        new += "\n"
    return text[:start] + new + text[end:]
