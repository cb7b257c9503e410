"""Questions and answers (issue 18): ask in a namespace or wiki-wide, answer, vote, accept one
answer, moderate, and turn a solved question into a page.

Plain values in, dataclasses out; no Flask. A question's permissions are its namespace's:
every use case asks `Permissions` about the namespace (`""` is wiki-wide and follows the
default rules, since no rule can be set on an empty prefix), so a namespace a user may not
read hides its questions, answers and counts exactly like missing ones, and restricting the
namespace restricts its questions at once. Who may do what:

- read, ask, answer, vote: a logged-in account that may read the namespace (reading only
  needs read access, which may be anonymous when the wiki allows it);
- accept an answer: the asker or whoever may write the namespace;
- moderate (hide an answer with a reason, lock a question) and turn into a page: whoever
  may write the namespace; each moderator's action goes to the audit log like comments'.

One vote per person and answer is a primary key in the database, so parallel voters from
several worker processes can never count twice.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    delete,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from wiki import paths
from wiki.acl import Acl
from wiki.catalog import Catalog, Change, commit_message
from wiki.db import Base, Database, UTCDateTime, utcnow
from wiki.discussions import mark_mentions, mentions, valid_id
from wiki.errors import (
    InvalidInput,
    NotFound,
    PageExists,
    PageTooLarge,
    PermissionDenied,
    Unauthorized,
    WikiError,
)
from wiki.permissions import Permissions
from wiki.render import Renderer
from wiki.repo import Write
from wiki.users import Account, Users, commit_author

MAX_TITLE_CHARS = 200
MAX_TAGS = 10
MAX_TAG_CHARS = 40
MAX_REASON_CHARS = 500
UNANSWERED_AFTER = timedelta(weeks=1)
STATUSES = ("", "open", "answered", "unanswered")
LIST_LIMIT = 1000


class QuestionRow(Base):
    __tablename__ = "questions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace: Mapped[str] = mapped_column(String(300), default="")  # "" is wiki-wide
    ns_key: Mapped[str] = mapped_column(String(300), default="")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(String(500), default="")  # space-separated
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    author_name: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    page_name: Mapped[str] = mapped_column(String(300), default="")  # turned into this page

    __table_args__ = (Index("ix_questions_ns", "ns_key", "id"),)


class AnswerRow(Base):
    __tablename__ = "answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    author_name: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hidden_reason: Mapped[str] = mapped_column(Text, default="")  # hidden when not empty
    hidden_by: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (Index("ix_answers_question", "question_id", "id"),)


class AnswerVote(Base):
    """One up-vote per person and answer: the primary key is the guarantee."""

    __tablename__ = "answer_votes"
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"),
                                           primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)


class QuestionNotFound(NotFound):
    """This question does not exist."""


class AnswerNotFound(NotFound):
    """This answer does not exist."""


class QuestionLocked(WikiError):
    """This question is locked; it takes no new answers."""

    status = 409
    code = "locked"


class AnswerTooLarge(PageTooLarge):
    """The text is too long."""


@dataclass(frozen=True)
class AnswerView:
    id: int
    question_id: int
    author: str
    body: str  # empty when hidden (unless the viewer moderates)
    html: str
    created: datetime
    votes: int
    accepted: bool
    hidden: bool
    hidden_reason: str  # only for moderators
    voted: bool = False  # the viewer has voted for it
    may_vote: bool = False


@dataclass(frozen=True)
class QuestionView:
    id: int
    namespace: str
    title: str
    body: str
    html: str
    tags: tuple[str, ...]
    author: str
    created: datetime
    updated: datetime
    status: str  # open, answered
    answer_count: int
    accepted_answer: int | None
    locked: bool
    page_name: str
    answers: tuple[AnswerView, ...] = ()
    may_answer: bool = False
    may_accept: bool = False
    may_moderate: bool = False


@dataclass(frozen=True)
class QuestionDocument:
    """What search indexes for a question (kind `question`)."""

    id: int
    namespace: str
    title: str
    text: str
    tags: tuple[str, ...]
    author: str
    updated: datetime
    accepted: str  # the accepted answer's text, "" while unsolved


def _clean(text, what: str, limit: int) -> str:
    if not isinstance(text, str) or "\x00" in text:
        raise InvalidInput(f"{what} must be text.")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InvalidInput(f"{what} cannot be empty.")
    if len(text) > limit:
        raise AnswerTooLarge(f"{what} can be at most {limit:,} characters; "
                             f"this one has {len(text):,}.")
    return text


def _title(title) -> str:
    title = " ".join(title.split()) if isinstance(title, str) and "\x00" not in title else ""
    if not title:
        raise InvalidInput("A question needs a title.")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(f"A title can be at most {MAX_TITLE_CHARS} characters.")
    return title


def _tags(tags) -> tuple[str, ...]:
    if tags is None or tags == "":
        return ()
    if isinstance(tags, str):
        tags = tags.replace(",", " ").split()
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput("Tags are a list of words.")
    found: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip().lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS or not all(c.isalnum() or c in "-_." for c in tag):
            raise InvalidInput("A tag is one word of letters, digits, '-', '_' or '.'.")
        found[tag] = None
    if len(found) > MAX_TAGS:
        raise InvalidInput(f"A question can have at most {MAX_TAGS} tags.")
    return tuple(found)


def _namespace(namespace) -> str:
    """The stored spelling of a namespace; "" (or "/") is wiki-wide."""
    if namespace is None or (isinstance(namespace, str) and not namespace.strip().strip("/")):
        return ""
    return paths.normalize(namespace)


class Questions:
    def __init__(self, db: Database, catalog: Catalog, renderer: Renderer,
                 permissions: Permissions, acl: Acl, users: Users,
                 max_chars: int = 20_000, author_host: str = "kennis.invalid"):
        self.db = db
        self.author_host = author_host  # commits name the account (users.commit_author)
        self.catalog = catalog
        self.renderer = renderer
        self.permissions = permissions
        self.acl = acl
        self.users = users
        self.max_chars = max_chars
        # Called with (kind "question"|"answer", user ids, namespace, question id, actor,
        # summary): wired to notify in wiki/services.py.
        self.on_notify: list[Callable[[str, set[int], str, int, str, str], None]] = []
        # Called with the question id after it or its answers change (search).
        self.listeners: list[Callable[[int], None]] = []

    # --- permissions -------------------------------------------------------------------------

    def can_read(self, account: Account, namespace: str) -> bool:
        return self.permissions.can_read(account, namespace)

    def may_moderate(self, account: Account, namespace: str) -> bool:
        """Whoever may write a namespace moderates its questions (wiki-wide: any editor)."""
        return self.permissions.can_write(account, namespace)

    def _require_participant(self, account: Account, namespace: str) -> None:
        self.permissions.require_read(account, namespace)
        if account.is_anonymous:
            raise Unauthorized("Log in to ask and answer questions.")

    def _require_moderator(self, account: Account, namespace: str) -> None:
        if not self.may_moderate(account, namespace):
            if account.is_anonymous:
                raise Unauthorized()
            raise PermissionDenied("Only editors of this namespace can do this.")

    def _question_row(self, s, account: Account, question_id) -> QuestionRow:
        """The question, or QuestionNotFound when absent or in a namespace one may not read
        (the two look the same)."""
        self.permissions.require_read(account)
        if not valid_id(question_id):
            raise QuestionNotFound()
        row = s.get(QuestionRow, question_id)
        if row is None or not self.can_read(account, row.namespace):
            self.permissions.refuse_unseen(account)
            raise QuestionNotFound()
        return row

    def _answer_row(self, s, account: Account, answer_id) -> tuple[AnswerRow, QuestionRow]:
        if not valid_id(answer_id):
            raise AnswerNotFound()
        answer = s.get(AnswerRow, answer_id)
        if answer is None:
            self.permissions.refuse_unseen(account)
            raise AnswerNotFound()
        try:
            question = self._question_row(s, account, answer.question_id)
        except QuestionNotFound:
            raise AnswerNotFound() from None
        return answer, question

    # --- reading -----------------------------------------------------------------------------

    def render(self, body: str) -> str:
        """Markdown to sanitized HTML: the same pipeline as pages and comments."""
        return mark_mentions(self.renderer.render(body).html) if body else ""

    def questions(self, account: Account, prefix: str = "", status: str = "",
                  mine: bool = False, limit: int = 50, offset: int = 0
                  ) -> tuple[int, list[QuestionView]]:
        """Questions the account may read, newest first: under `prefix` (a namespace and
        the ones below it; "" is all), `status` open, answered or unanswered (no answer
        after a week), or only the account's own."""
        self.permissions.require_read(account)
        if status not in STATUSES:
            raise InvalidInput("The status is open, answered or unanswered.")
        prefix = _namespace(prefix)
        if mine and account.is_anonymous:
            raise Unauthorized()
        counts = (select(AnswerRow.question_id, func.count(AnswerRow.id).label("n"))
                  .where(AnswerRow.hidden_reason == "").group_by(AnswerRow.question_id)
                  .subquery())
        query = (select(QuestionRow, func.coalesce(counts.c.n, 0))
                 .outerjoin(counts, counts.c.question_id == QuestionRow.id)
                 .order_by(QuestionRow.id.desc()))
        if prefix:
            key = paths.key(prefix)
            query = query.where((QuestionRow.ns_key == key)
                                | QuestionRow.ns_key.startswith(key + "/", autoescape=True))
        if status == "open":
            query = query.where(QuestionRow.accepted_id.is_(None))
        elif status == "answered":
            query = query.where(QuestionRow.accepted_id.is_not(None))
        elif status == "unanswered":
            query = query.where(func.coalesce(counts.c.n, 0) == 0,
                                QuestionRow.created < utcnow() - UNANSWERED_AFTER)
        if mine:
            query = query.where(QuestionRow.author_id == account.id)
        with self.db.session() as s:
            rows = s.execute(query.limit(LIST_LIMIT * 5)).all()
        readable: dict[str, bool] = {}
        shown = []
        for row, count in rows:
            if row.namespace not in readable:
                readable[row.namespace] = self.can_read(account, row.namespace)
            if readable[row.namespace]:
                shown.append(self._view(account, row, count))
        offset, limit = max(0, offset), max(1, min(limit, LIST_LIMIT))
        return len(shown), shown[offset:offset + limit]

    def question(self, account: Account, question_id: int) -> QuestionView:
        """One question with its answers: the accepted one first, then by votes."""
        with self.db.session() as s:
            row = self._question_row(s, account, question_id)
            answers = list(s.scalars(select(AnswerRow).where(AnswerRow.question_id == row.id)
                                     .order_by(AnswerRow.id)))
            votes = dict(s.execute(
                select(AnswerVote.answer_id, func.count()).join(AnswerRow)
                .where(AnswerRow.question_id == row.id).group_by(AnswerVote.answer_id)).all())
            mine = set(s.scalars(select(AnswerVote.answer_id).join(AnswerRow).where(
                AnswerRow.question_id == row.id, AnswerVote.user_id == account.id))
            ) if account.id is not None else set()
            moderator = self.may_moderate(account, row.namespace)
            views = [self._answer_view(account, a, row, votes.get(a.id, 0), a.id in mine,
                                       moderator) for a in answers]
            views.sort(key=lambda a: (not a.accepted, a.hidden, -a.votes, a.id))
            shown = sum(1 for a in answers if not a.hidden_reason)
            return self._view(account, row, shown, tuple(views), full=True)

    def _view(self, account: Account, row: QuestionRow, count: int,
              answers: tuple[AnswerView, ...] = (), full: bool = False) -> QuestionView:
        moderator = self.may_moderate(account, row.namespace)
        mine = account.id is not None and account.id == row.author_id
        return QuestionView(
            id=row.id, namespace=row.namespace, title=row.title, body=row.body,
            html=self.render(row.body) if full else "",
            tags=tuple(t for t in row.tags.split() if t), author=row.author_name,
            created=row.created, updated=row.updated,
            status="answered" if row.accepted_id else "open", answer_count=count,
            accepted_answer=row.accepted_id, locked=row.locked, page_name=row.page_name,
            answers=answers,
            may_answer=not account.is_anonymous and not row.locked,
            may_accept=(mine or moderator) and not account.is_anonymous,
            may_moderate=moderator)

    def _answer_view(self, account: Account, a: AnswerRow, q: QuestionRow, votes: int,
                     voted: bool, moderator: bool) -> AnswerView:
        hidden = bool(a.hidden_reason)
        body = a.body if not hidden or moderator else ""
        return AnswerView(
            id=a.id, question_id=a.question_id, author=a.author_name, body=body,
            html=self.render(body), created=a.created, votes=votes,
            accepted=q.accepted_id == a.id, hidden=hidden,
            hidden_reason=a.hidden_reason if moderator else "", voted=voted,
            may_vote=not account.is_anonymous and not hidden and account.id != a.author_id)

    # --- writing -----------------------------------------------------------------------------

    def ask(self, account: Account, namespace, title, body, tags=None) -> QuestionView:
        namespace = _namespace(namespace)
        self._require_participant(account, namespace)
        title, body = _title(title), _clean(body, "A question", self.max_chars)
        tags = _tags(tags)
        now = utcnow()
        with self.db.session() as s:
            row = QuestionRow(namespace=namespace, ns_key=paths.key(namespace), title=title,
                              body=body, tags=" ".join(tags), author_id=account.id,
                              author_name=account.name, created=now, updated=now)
            s.add(row)
            s.flush()
            view = self._view(account, row, 0)
        watchers = self._watchers(namespace) - {account.id}
        named = self._named(mentions(body)) - {account.id}
        self._tell("question", watchers | named, namespace, view.id, account.name, title)
        self.changed(view.id)
        return view

    def answer(self, account: Account, question_id: int, body) -> AnswerView:
        body = _clean(body, "An answer", self.max_chars)
        with self.db.session() as s:
            q = self._question_row(s, account, question_id)
            self._require_participant(account, q.namespace)
            if q.locked:
                raise QuestionLocked()
            row = AnswerRow(question_id=q.id, author_id=account.id, author_name=account.name,
                            body=body, created=utcnow())
            s.add(row)
            q.updated = row.created
            s.flush()
            view = self._answer_view(account, row, q, 0, False, False)
            asker, namespace, title = q.author_id, q.namespace, q.title
        named = self._named(mentions(body))
        self._tell("answer", (({asker} if asker else set()) | named) - {account.id}, namespace,
                   question_id, account.name, title)
        self.changed(question_id)
        return view

    def accept(self, account: Account, question_id: int, answer_id) -> QuestionView:
        """Mark one answer as the answer (None: none any more): the asker or an editor."""
        with self.db.session() as s:
            q = self._question_row(s, account, question_id)
            mine = account.id is not None and account.id == q.author_id
            if not mine:
                self._require_moderator(account, q.namespace)
            if answer_id is not None:
                answer = s.get(AnswerRow, answer_id) if valid_id(answer_id) else None
                if answer is None or answer.question_id != q.id:
                    raise InvalidInput("That is not an answer to this question.")
                if answer.hidden_reason:
                    raise InvalidInput("A hidden answer cannot be accepted.")
            q.accepted_id = answer_id
            q.updated = utcnow()
        self.changed(question_id)
        return self.question(account, question_id)

    def vote(self, account: Account, answer_id: int, up: bool) -> int:
        """Up-vote an answer (once per person) or take the vote back; returns its votes."""
        if not isinstance(up, bool):
            raise InvalidInput("up is true or false.")
        with self.db.session() as s:
            answer, q = self._answer_row(s, account, answer_id)
            self._require_participant(account, q.namespace)
            if answer.author_id == account.id:
                raise InvalidInput("You cannot vote for your own answer.")
            if answer.hidden_reason:
                raise InvalidInput("A hidden answer takes no votes.")
        if up:
            try:
                with self.db.session() as s:
                    s.add(AnswerVote(answer_id=answer_id, user_id=account.id))
            except IntegrityError:
                pass  # voted already (perhaps a moment ago from another worker): one vote
        else:
            with self.db.session() as s:
                s.execute(delete(AnswerVote).where(AnswerVote.answer_id == answer_id,
                                                   AnswerVote.user_id == account.id))
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(AnswerVote)
                            .where(AnswerVote.answer_id == answer_id)) or 0

    # --- moderation (audit-logged like comments) -----------------------------------------------

    def set_locked(self, account: Account, question_id: int, locked: bool) -> QuestionView:
        with self.db.session() as s:
            q = self._question_row(s, account, question_id)
            self._require_moderator(account, q.namespace)
            q.locked = bool(locked)
        self.acl.record(account.name, "question.lock" if locked else "question.unlock",
                        q.namespace, f"question {question_id}")
        return self.question(account, question_id)

    def hide(self, account: Account, answer_id: int, reason) -> None:
        """Hide an answer from everyone but moderators, with a reason; None unhides."""
        if reason is not None:
            reason = " ".join(reason.split()) if isinstance(reason, str) else ""
            if not reason:
                raise InvalidInput("Say why the answer is hidden.")
            reason = reason[:MAX_REASON_CHARS]
        with self.db.session() as s:
            answer, q = self._answer_row(s, account, answer_id)
            self._require_moderator(account, q.namespace)
            answer.hidden_reason, answer.hidden_by = reason or "", account.name if reason else ""
            if reason and q.accepted_id == answer.id:
                q.accepted_id = None
            question_id, namespace = q.id, q.namespace
        action = "answer.hide" if reason else "answer.unhide"
        self.acl.record(account.name, action, namespace,
                        f"answer {answer_id}" + (f": {reason}" if reason else ""))
        self.changed(question_id)

    # --- turning a solved question into a page -----------------------------------------------

    def draft_page(self, account: Account, question_id: int) -> tuple[str, str]:
        """(suggested page name, Markdown) from the question and its accepted answer."""
        view = self.question(account, question_id)
        self._require_moderator(account, view.namespace)
        accepted = next((a for a in view.answers if a.accepted), None)
        if accepted is None:
            raise InvalidInput("Only a question with an accepted answer becomes a page.")
        name = f"{view.namespace}/{view.title}" if view.namespace else view.title
        name = "".join(c for c in name if c not in '\\:*?"<>|').rstrip("?. ")
        text = (f"# {view.title}\n\n{view.body}\n\n## Answer\n\n{accepted.body}\n\n"
                f"*Answered by {accepted.author}.*\n")
        return name, text

    def to_page(self, account: Account, question_id: int, path, markdown=None
                ) -> tuple[str, str]:
        """Commit a new page from a solved question (an editor of the page's namespace), the
        accepted answer's author credited with a Co-authored-by trailer; the question links
        to it. Returns (page name, revision)."""
        suggested, text = self.draft_page(account, question_id)
        name = paths.normalize(path if path else suggested)
        self.permissions.require_write(account, name)
        with self.db.session() as s:
            q = self._question_row(s, account, question_id)
            self._require_moderator(account, q.namespace)
            accepted = s.get(AnswerRow, q.accepted_id)
        if markdown is not None:
            text = _clean(markdown, "The page", self.max_chars * 5)
        credit = self.users.by_name(accepted.author_name) if accepted else None
        co_author = commit_author(credit, self.author_host) if credit else None
        trailer = (f"\n\nCo-authored-by: {co_author.name} <{co_author.email}>"
                   if credit and credit.id != account.id else "")

        def plan(_head) -> Change:
            if self.catalog.page(name) is not None:
                raise PageExists()
            return Change([Write(paths.to_file(name), (text.rstrip() + "\n").encode())],
                          commit_message(None, f"Create {name} from question {question_id}")
                          + trailer)

        revision = self.catalog.commit(plan, commit_author(account, self.author_host))
        with self.db.session() as s:
            q = s.get(QuestionRow, question_id)
            q.page_name = name
        self.changed(question_id)
        return name, revision or ""

    # --- notifications and search --------------------------------------------------------------

    def _watchers(self, namespace: str) -> set[int]:
        from wiki.db import Watch

        if not namespace:
            return set()
        key = paths.key(namespace)
        parts = key.split("/")
        keys = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        with self.db.session() as s:
            return set(s.scalars(select(Watch.user_id).where(
                Watch.key.in_(keys), Watch.namespace.is_(True))))

    def _named(self, names: list[str]) -> set[int]:
        from wiki.db import User

        if not names:
            return set()
        with self.db.session() as s:
            return set(s.scalars(select(User.id).where(
                User.name_key.in_([n.lower() for n in names]))))

    def _tell(self, kind: str, user_ids: set[int], namespace: str, question_id: int,
              actor: str, summary: str) -> None:
        user_ids = {u for u in user_ids if u is not None}
        if user_ids:
            for hook in self.on_notify:
                hook(kind, user_ids, namespace, question_id, actor, summary)

    def changed(self, question_id: int) -> None:
        for listener in self.listeners:
            listener(question_id)

    def document(self, question_id: int) -> QuestionDocument | None:
        """A question with its shown answers as one searchable document."""
        with self.db.session() as s:
            q = s.get(QuestionRow, question_id) if valid_id(question_id) else None
            if q is None:
                return None
            answers = list(s.scalars(select(AnswerRow).where(
                AnswerRow.question_id == q.id, AnswerRow.hidden_reason == "")
                .order_by(AnswerRow.id)))
            accepted = next((a.body for a in answers if a.id == q.accepted_id), "")
            return QuestionDocument(
                id=q.id, namespace=q.namespace, title=q.title,
                text="\n\n".join([q.body, *(a.body for a in answers)]),
                tags=tuple(t for t in q.tags.split() if t), author=q.author_name,
                updated=q.updated, accepted=accepted)

    def all_for_index(self):
        with self.db.session() as s:
            ids = list(s.scalars(select(QuestionRow.id).order_by(QuestionRow.id)))
        for question_id in ids:
            document = self.document(question_id)
            if document is not None:
                yield document
