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
from datetime import UTC, date, datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from wiki import paths
from wiki.db import Base, Database
from wiki.errors import InvalidInput, NotFound, PageNotFound, Unauthorized, WikiError
from wiki.users import Account

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


# --- votes ---------------------------------------------------------------------------------
# Each question of a block is a poll of its own (a survey is several), known by its page and
# its question's key. A ballot row says who voted in a poll (its primary key is the one-vote
# guarantee, across worker processes); choices say what was chosen and by whom, except in an
# anonymous poll, whose choices carry no user: nothing links a person to a choice, so an
# anonymous vote cannot be changed.


class PollRow(Base):
    __tablename__ = "polls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_key: Mapped[str] = mapped_column(String(300))
    page_name: Mapped[str] = mapped_column(String(300))
    question_key: Mapped[str] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("page_key", "question_key"),)


class PollBallot(Base):
    __tablename__ = "poll_ballots"
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"),
                                         primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)


class PollChoice(Base):
    __tablename__ = "poll_choices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"),
                                         index=True)
    option_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(  # None in an anonymous poll
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True)


class PollNotFound(NotFound):
    """This poll does not exist."""


class PollClosed(WikiError):
    """This poll is closed."""

    status = 409
    code = "closed"


class AlreadyVoted(WikiError):
    """You voted in this anonymous poll already; an anonymous vote cannot be changed."""

    status = 409
    code = "already_voted"


@dataclass(frozen=True)
class PollView:
    id: int
    index: int  # the block on the page
    question: str
    options: tuple[tuple[str, str, int | None], ...]  # (id, label, votes or None)
    multiple: bool
    anonymous: bool
    closes: date | None
    closed: bool
    total: int | None
    my_vote: tuple[str, ...] | None  # None: not voted (or anonymous: voted, unknown)
    voted: bool


class Polls:
    def __init__(self, db: Database, pages, permissions):
        self.db = db
        self.pages = pages
        self.permissions = permissions

    def _page(self, account: Account, page: str) -> tuple[str, list[Found]]:
        source = self.pages.source(account, page)  # asks Permissions: hidden looks missing
        if source.revision is None:
            raise PageNotFound()
        return source.name, blocks(source.markdown)

    def polls(self, account: Account, page: str) -> tuple[list[PollView], list[Found]]:
        """The polls of a page as this account sees them, and the blocks that are invalid."""
        name, found = self._page(account, page)
        views = []
        for block in found:
            if block.poll is None:
                continue
            for question in block.poll.questions:
                poll_id = self._poll_id(name, question.key)
                views.append(self._view(account, poll_id, block, question))
        return views, [b for b in found if b.poll is None]

    def _poll_id(self, name: str, question_key: str) -> int:
        key = paths.key(name)
        query = select(PollRow.id).where(PollRow.page_key == key,
                                         PollRow.question_key == question_key)
        with self.db.session() as s:
            found = s.scalar(query)
        if found is None:
            try:
                with self.db.session() as s:
                    s.add(PollRow(page_key=key, page_name=name, question_key=question_key))
            except IntegrityError:
                pass  # another process made it a moment ago
            with self.db.session() as s:
                found = s.scalar(query)
        return found

    @staticmethod
    def _closed(block: PollBlock) -> bool:
        return block.closes is not None and datetime.now(UTC).date() > block.closes

    def _view(self, account: Account, poll_id: int, block: Found, question: Question
              ) -> PollView:
        poll = block.poll
        labels = {o.id for o in question.options}
        with self.db.session() as s:
            counts = dict(s.execute(select(PollChoice.option_id, func.count())
                                    .where(PollChoice.poll_id == poll_id)
                                    .group_by(PollChoice.option_id)).all())
            voted = account.id is not None and s.get(PollBallot, (poll_id, account.id)) \
                is not None
            mine = tuple(s.scalars(select(PollChoice.option_id).where(
                PollChoice.poll_id == poll_id, PollChoice.user_id == account.id))
            ) if voted and not poll.anonymous else None
            total = s.scalar(select(func.count()).select_from(PollBallot)
                             .where(PollBallot.poll_id == poll_id)) or 0
        closed = self._closed(poll)
        shown = voted or closed  # results after voting or after closing
        return PollView(
            id=poll_id, index=block.index, question=question.text,
            options=tuple((o.id, o.label, counts.get(o.id, 0) if shown else None)
                          for o in question.options),
            multiple=poll.multiple, anonymous=poll.anonymous, closes=poll.closes,
            closed=closed, total=total if shown else None,
            my_vote=tuple(m for m in mine if m in labels) if mine is not None else None,
            voted=voted)

    def vote(self, account: Account, poll_id, options) -> PollView:
        """Vote (or change a named vote); each option an id of the poll as the page has it
        now. Closed polls, unknown options, several on a single-choice poll: refused."""
        self.permissions.require_read(account)
        if not isinstance(poll_id, int) or isinstance(poll_id, bool) or not 0 < poll_id < 2**63:
            raise PollNotFound()
        with self.db.session() as s:
            row = s.get(PollRow, poll_id)
            name = row.page_name if row else None
            question_key = row.question_key if row else ""
        if name is None:
            self.permissions.refuse_unseen(account)
            raise PollNotFound()
        try:
            name, found = self._page(account, name)
        except NotFound:
            raise PollNotFound() from None
        block, question = next(((b, q) for b in found if b.poll for q in b.poll.questions
                                if q.key == question_key), (None, None))
        if block is None or question is None:
            raise PollNotFound()
        if account.is_anonymous:
            raise Unauthorized("Log in to vote.")
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options) \
                or not options:
            raise InvalidInput("Choose at least one option.")
        chosen = list(dict.fromkeys(options))
        if any(o not in {opt.id for opt in question.options} for o in chosen):
            raise InvalidInput("That option is not in this poll.")
        if len(chosen) > 1 and not block.poll.multiple:
            raise InvalidInput("This poll takes one choice.")
        if self._closed(block.poll):
            raise PollClosed()
        anonymous = block.poll.anonymous
        try:
            with self.db.session() as s:
                s.add(PollBallot(poll_id=poll_id, user_id=account.id))
                s.flush()
                s.add_all(PollChoice(poll_id=poll_id, option_id=o,
                                     user_id=None if anonymous else account.id) for o in chosen)
        except IntegrityError:
            if anonymous:
                raise AlreadyVoted() from None
            with self.db.session() as s:  # a change of a named vote: replace the choices
                ballot = s.scalar(select(PollBallot).where(
                    PollBallot.poll_id == poll_id, PollBallot.user_id == account.id)
                    .with_for_update())
                if ballot is None:
                    raise PollNotFound() from None
                s.execute(delete(PollChoice).where(PollChoice.poll_id == poll_id,
                                                   PollChoice.user_id == account.id))
                s.add_all(PollChoice(poll_id=poll_id, option_id=o, user_id=account.id)
                          for o in chosen)
        return self._view(account, poll_id, block, question)
