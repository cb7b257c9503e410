"""Discussion threads in the JSON API (/api/v1/discussions, /api/v1/threads).

Same rules as the pages API: reads take a session or a bearer token, writes need a token;
a page the caller may not read looks missing, and so do its threads.
"""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from wiki.views import services
from wiki.views.api import _reader, _writer

bp = Blueprint("api_discussions", __name__, url_prefix="/api/v1",
               description="Discussion threads on pages.")


def init_app(app, api) -> None:
    app.extensions["csrf"].exempt(bp)
    api.register_blueprint(bp)


class CommentSchema(Schema):
    id = fields.Integer()
    author = fields.String()
    body = fields.String()
    html = fields.String()
    created = fields.DateTime()
    edited = fields.DateTime(allow_none=True)
    reply_to = fields.Integer(allow_none=True)
    removed = fields.Boolean()


class ThreadSummary(Schema):
    id = fields.Integer()
    path = fields.String()
    title = fields.String()
    status = fields.String()
    locked = fields.Boolean()
    author = fields.String()
    created = fields.DateTime()
    updated = fields.DateTime()
    comments = fields.Integer()
    pending = fields.Boolean()  # waits for a moderator's approval (`thread_approval_prefixes`)


class ThreadSchema(ThreadSummary):
    comments = fields.List(fields.Nested(CommentSchema))
    page_exists = fields.Boolean()


class ThreadList(Schema):
    path = fields.String()
    threads = fields.List(fields.Nested(ThreadSummary))


class NewThread(Schema):
    title = fields.String(required=True)
    body = fields.String(required=True)


class NewComment(Schema):
    body = fields.String(required=True)
    reply_to = fields.Integer(load_default=None, allow_none=True)


class ThreadPatch(Schema):
    status = fields.String(validate=validate.OneOf(["open", "resolved"]))
    locked = fields.Boolean()


def _discussions():
    return services().discussions


def _summary(thread) -> dict:
    return {"id": thread.id, "path": thread.page_name, "title": thread.title,
            "status": thread.status, "locked": thread.locked, "author": thread.author,
            "created": thread.created, "updated": thread.updated,
            "comments": thread.comment_count, "pending": thread.pending}


def _comment(c) -> dict:
    return {"id": c.id, "author": c.author, "body": c.body, "html": c.html,
            "created": c.created, "edited": c.edited, "reply_to": c.reply_to,
            "removed": c.deleted or c.hidden}


def _thread(thread) -> dict:
    return {**_summary(thread), "comments": [_comment(c) for c in thread.comments],
            "page_exists": thread.page_exists}


@bp.route("/discussions/<path:path>")
class Discussions(MethodView):
    @bp.response(200, ThreadList)
    def get(self, path):
        """The threads of a page, newest activity first."""
        name, threads = _discussions().threads(_reader(), path)
        return {"path": name, "threads": [_summary(t) for t in threads]}

    @bp.arguments(NewThread)
    @bp.response(201, ThreadSchema)
    def post(self, body, path):
        """Start a thread on a page with its first comment."""
        account = _writer()
        result = _discussions().start(account, path, body["title"], body["body"])
        return _thread(_discussions().thread(account, result.thread.id)), 201


@bp.route("/threads/<int:thread_id>")
class ThreadResource(MethodView):
    @bp.response(200, ThreadSchema)
    def get(self, thread_id):
        """A thread with its comments (removed ones keep their place, without text)."""
        return _thread(_discussions().thread(_reader(), thread_id))

    @bp.arguments(ThreadPatch)
    @bp.response(200, ThreadSchema)
    def patch(self, body, thread_id):
        """Resolve or reopen (author or editors), lock or unlock (editors) a thread."""
        account = _writer()
        # Locking needs a moderator, who may also set the status: a refusal comes first.
        thread = None
        if "locked" in body:
            thread = services().moderation.set_locked(account, thread_id, body["locked"])
        if "status" in body:
            thread = _discussions().set_status(account, thread_id, body["status"])
        return _thread(thread or _discussions().thread(account, thread_id))


@bp.route("/threads/<int:thread_id>/comments", methods=["POST"])
@bp.arguments(NewComment)
@bp.response(201, CommentSchema)
def add_comment(body, thread_id):
    """Reply to a thread, or with `reply_to` to one of its comments."""
    result = _discussions().reply(_writer(), thread_id, body["body"], body["reply_to"])
    return _comment(result.comment), 201
