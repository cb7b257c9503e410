"""Polls written in a page as a fenced ```poll block (issue 18): the parser.

A block holds one question or several (a short survey): a question line, its `- option`
lines, and settings for the whole block (`multiple: yes|no`, `anonymous: yes|no`,
`closes: YYYY-MM-DD`). A poll inside another fenced block (a code example showing a poll) is
text, not a poll. Everything is bounded before any work is done, so hostile input (thousands
of options, huge lines) is refused with a clear message instead of costing time or memory.

A poll is known by its page and its question's text: editing the rest of the block keeps its
votes, and an option by its label, so a removed option drops its votes.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import date

from wiki.errors import InvalidInput

MAX_BLOCK_CHARS = 20_000
MAX_LINE_CHARS = 300
MAX_QUESTIONS = 20
MAX_OPTIONS = 50
MAX_BLOCKS = 20  # poll blocks per page
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
_SETTING = re.compile(r"^(multiple|anonymous|closes)\s*:\s*(.*)$", re.IGNORECASE)
_YES, _NO = {"yes", "ja", "true"}, {"no", "nee", "false"}


class PollError(InvalidInput):
    """This poll block is not valid."""

    code = "invalid_poll"


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Question:
    key: str  # stable while the question's text stays the same
    text: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class PollBlock:
    questions: tuple[Question, ...]
    multiple: bool
    anonymous: bool
    closes: date | None


@dataclass(frozen=True)
class Found:
    """One ```poll block of a page: parsed, or the reason it is not valid."""

    index: int
    poll: PollBlock | None
    error: str


def _digest(text: str, size: int) -> str:
    return hashlib.sha256(" ".join(text.split()).casefold().encode()).hexdigest()[:size]


def _yes(name: str, value: str) -> bool:
    value = value.strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise PollError(f"{name}: is yes or no.")


def parse(text: str) -> PollBlock:
    """The inside of one ```poll block, or PollError saying what is wrong."""
    if not isinstance(text, str):
        raise PollError("A poll is text.")
    if len(text) > MAX_BLOCK_CHARS:
        raise PollError(f"A poll can be at most {MAX_BLOCK_CHARS:,} characters.")
    questions: list[tuple[str, list[str]]] = []
    settings: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if len(line) > MAX_LINE_CHARS:
            raise PollError(f"Line {number} is longer than {MAX_LINE_CHARS} characters.")
        setting = _SETTING.match(line)
        if setting:
            settings[setting.group(1).lower()] = setting.group(2)
        elif line.startswith(("- ", "* ")):
            if not questions:
                raise PollError(f"Line {number}: an option comes after its question.")
            label = " ".join(line[2:].split())
            if not label:
                raise PollError(f"Line {number}: an option needs a label.")
            options = questions[-1][1]
            if len(options) >= MAX_OPTIONS:
                raise PollError(f"A question can have at most {MAX_OPTIONS} options.")
            if any(_digest(o, 12) == _digest(label, 12) for o in options):
                raise PollError(f"Line {number}: the option {label!r} is there twice.")
            options.append(label)
        else:
            if len(questions) >= MAX_QUESTIONS:
                raise PollError(f"A poll can have at most {MAX_QUESTIONS} questions.")
            questions.append((" ".join(line.split()), []))
    if not questions:
        raise PollError("A poll needs a question.")
    for question, options in questions:
        if len(options) < 2:
            raise PollError(f"The question {question!r} needs at least two options.")
    if len({_digest(q, 16) for q, _ in questions}) != len(questions):
        raise PollError("A question is there twice.")
    closes = None
    if settings.get("closes", "").strip():
        try:
            closes = date.fromisoformat(settings["closes"].strip())
        except ValueError:
            raise PollError("closes: is a date like 2026-12-20.") from None
    return PollBlock(
        questions=tuple(Question(key=_digest(q, 16), text=q,
                                 options=tuple(Option(_digest(o, 12), o) for o in opts))
                        for q, opts in questions),
        multiple=_yes("multiple", settings["multiple"]) if "multiple" in settings else False,
        anonymous=_yes("anonymous", settings["anonymous"]) if "anonymous" in settings
        else False,
        closes=closes)


def blocks(markdown: str) -> list[Found]:
    """Every ```poll block of a page's Markdown, in order (fences inside other fenced blocks
    are their text). An unclosed poll block runs to the end, as in Markdown."""
    found: list[Found] = []
    fence: str | None = None  # the fence of the block we are in
    inside: list[str] = []
    is_poll = False
    size = 0  # characters inside the current poll block
    for line in (markdown or "").splitlines():
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, is_poll, inside = match.group(1), match.group(2).lower() == "poll", []
                size = 0
            continue
        if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                and not match.group(2):
            if is_poll:
                found.append(_found(len(found), inside))
            fence = None
            if len(found) >= MAX_BLOCKS:
                break
            continue
        if is_poll:
            inside.append(line)
            size += len(line) + 1
            if size > MAX_BLOCK_CHARS + 1:
                found.append(Found(len(found), None,
                                   f"A poll can be at most {MAX_BLOCK_CHARS:,} characters."))
                fence, is_poll = None, False
                break
    if fence is not None and is_poll and len(found) < MAX_BLOCKS:
        found.append(_found(len(found), inside))
    return found


def _found(index: int, lines: list[str]) -> Found:
    try:
        return Found(index, parse("\n".join(lines)), "")
    except PollError as exc:
        return Found(index, None, exc.message)
