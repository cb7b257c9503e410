"""Questions and answers in the JSON API (/api/v1/questions, /api/v1/answers), issue 18.

Same rules as the pages API: reads take a session or a bearer token, writes need a token; a
question in a namespace the caller may not read looks missing.
"""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from wiki.views import services
from wiki.views.api import _reader, _writer

bp = Blueprint("api_questions", __name__, url_prefix="/api/v1",
               description="Questions with answers, votes and an accepted answer.")


def init_app(app, api) -> None:
    app.extensions["csrf"].exempt(bp)
    api.register_blueprint(bp)


class AnswerSchema(Schema):
    id = fields.Integer()
    author = fields.String()
    body = fields.String()
    html = fields.String()
    created = fields.DateTime()
    votes = fields.Integer()
    accepted = fields.Boolean()
    hidden = fields.Boolean()


class QuestionSummary(Schema):
    id = fields.Integer()
    title = fields.String()
    namespace = fields.String()
    author = fields.String()
    created = fields.DateTime()
    status = fields.String()
    answers = fields.Integer()
    tags = fields.List(fields.String())
    locked = fields.Boolean()
    page = fields.String()


class QuestionSchema(QuestionSummary):
    body = fields.String()
    html = fields.String()
    accepted_answer = fields.Integer(allow_none=True)
    answers = fields.List(fields.Nested(AnswerSchema))


class QuestionList(Schema):
    total = fields.Integer()
    questions = fields.List(fields.Nested(QuestionSummary))


class ListQuery(Schema):
    prefix = fields.String(load_default="")
    status = fields.String(load_default="",
                           validate=validate.OneOf(["", "open", "answered", "unanswered"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


class NewQuestion(Schema):
    namespace = fields.String(load_default="")
    title = fields.String(required=True)
    body = fields.String(required=True)
    tags = fields.List(fields.String(), load_default=list)


class NewAnswer(Schema):
    body = fields.String(required=True)


class Accept(Schema):
    answer = fields.Integer(required=True, allow_none=True)


class Vote(Schema):
    up = fields.Boolean(required=True)


class Votes(Schema):
    votes = fields.Integer()


class ToPage(Schema):
    path = fields.String(load_default="")


class PageCreated(Schema):
    path = fields.String()
    revision = fields.String()


def _summary(q) -> dict:
    return {"id": q.id, "title": q.title, "namespace": q.namespace, "author": q.author,
            "created": q.created, "status": q.status, "answers": q.answer_count,
            "tags": list(q.tags), "locked": q.locked, "page": q.page_name}


def _answer(a) -> dict:
    return {"id": a.id, "author": a.author, "body": a.body, "html": a.html,
            "created": a.created, "votes": a.votes, "accepted": a.accepted, "hidden": a.hidden}


def _question(q) -> dict:
    return {**_summary(q), "body": q.body, "html": q.html,
            "accepted_answer": q.accepted_answer, "answers": [_answer(a) for a in q.answers]}


@bp.route("/questions")
class QuestionsResource(MethodView):
    @bp.arguments(ListQuery, location="query")
    @bp.response(200, QuestionList)
    def get(self, query):
        """Questions the caller may read, newest first."""
        total, found = services().questions.questions(
            _reader(), query["prefix"], query["status"], limit=query["limit"],
            offset=query["offset"])
        return {"total": total, "questions": [_summary(q) for q in found]}

    @bp.arguments(NewQuestion)
    @bp.response(201, QuestionSchema)
    def post(self, body):
        """Ask a question in a namespace (empty: wiki-wide)."""
        account = _writer()
        questions = services().questions
        view = questions.ask(account, body["namespace"], body["title"], body["body"],
                             body["tags"])
        return _question(questions.question(account, view.id)), 201


@bp.route("/questions/<int:question_id>")
@bp.response(200, QuestionSchema)
def get_question(question_id):
    """A question with its answers, the accepted one first."""
    return _question(services().questions.question(_reader(), question_id))


@bp.route("/questions/<int:question_id>/answers", methods=["POST"])
@bp.arguments(NewAnswer)
@bp.response(201, AnswerSchema)
def add_answer(body, question_id):
    """Answer a question."""
    return _answer(services().questions.answer(_writer(), question_id, body["body"])), 201


@bp.route("/questions/<int:question_id>/accept", methods=["POST"])
@bp.arguments(Accept)
@bp.response(200, QuestionSchema)
def accept(body, question_id):
    """Accept one answer (the asker or an editor of the namespace); null takes it back."""
    return _question(services().questions.accept(_writer(), question_id, body["answer"]))


@bp.route("/answers/<int:answer_id>/vote", methods=["POST"])
@bp.arguments(Vote)
@bp.response(200, Votes)
def vote(body, answer_id):
    """Vote an answer up (once per person) or take the vote back."""
    return {"votes": services().questions.vote(_writer(), answer_id, body["up"])}


@bp.route("/questions/<int:question_id>/page", methods=["POST"])
@bp.arguments(ToPage)
@bp.response(201, PageCreated)
def to_page(body, question_id):
    """Turn a solved question into a page (editors); the answer's author is credited."""
    name, revision = services().questions.to_page(_writer(), question_id, body["path"])
    return {"path": name, "revision": revision}, 201


# --- polls (```poll blocks in pages) -----------------------------------------------------------

class PollQuery(Schema):
    page = fields.String(required=True)


class PollOption(Schema):
    id = fields.String()
    label = fields.String()
    votes = fields.Integer(allow_none=True)  # null until the caller voted or the poll closed


class PollSchema(Schema):
    id = fields.Integer()
    question = fields.String()
    options = fields.List(fields.Nested(PollOption))
    multiple = fields.Boolean()
    anonymous = fields.Boolean()
    closes = fields.Date(allow_none=True)
    closed = fields.Boolean()
    total = fields.Integer(allow_none=True)
    my_vote = fields.List(fields.String(), allow_none=True)


class PollList(Schema):
    polls = fields.List(fields.Nested(PollSchema))
    errors = fields.List(fields.String())  # blocks that are not valid polls, with the reason


class PollVote(Schema):
    options = fields.List(fields.String(), required=True)


def _poll(p) -> dict:
    return {"id": p.id, "question": p.question,
            "options": [{"id": i, "label": label, "votes": votes}
                        for i, label, votes in p.options],
            "multiple": p.multiple, "anonymous": p.anonymous, "closes": p.closes,
            "closed": p.closed, "total": p.total,
            "my_vote": list(p.my_vote) if p.my_vote is not None else None}


@bp.route("/polls")
@bp.arguments(PollQuery, location="query")
@bp.response(200, PollList)
def list_polls(query):
    """The polls written in a page (results only after voting or closing)."""
    polls, invalid = services().polls.polls(_reader(), query["page"])
    return {"polls": [_poll(p) for p in polls], "errors": [b.error for b in invalid]}


@bp.route("/polls/<int:poll_id>/vote", methods=["POST"])
@bp.arguments(PollVote)
@bp.response(200, PollSchema)
def vote_poll(body, poll_id):
    """Vote in a poll (a named vote can be changed until it closes); 409 once closed."""
    return _poll(services().polls.vote(_writer(), poll_id, body["options"]))
