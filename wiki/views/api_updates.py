"""Short updates in the JSON API (/api/v1/updates): stream, post, reply, like, edit, delete.

Same rules as the rest of the API: reads take a session or a bearer token, writes need a
token; an update the caller may not read looks missing.
"""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from wiki.views import services
from wiki.views.api import _reader, _writer

bp = Blueprint("api_updates", __name__, url_prefix="/api/v1",
               description="Short updates (microblog) with tags, replies and likes.")


def init_app(app, api) -> None:
    app.extensions["csrf"].exempt(bp)
    api.register_blueprint(bp)


class UpdateSchema(Schema):
    id = fields.Integer()
    author = fields.String()
    body = fields.String()
    html = fields.String()
    namespace = fields.String()
    created = fields.DateTime()
    edited = fields.DateTime(allow_none=True)
    tags = fields.List(fields.String())
    reply_to = fields.Integer(allow_none=True)
    replies = fields.Integer()
    likes = fields.Integer()
    liked = fields.Boolean()


class UpdateWithReplies(UpdateSchema):
    thread = fields.List(fields.Nested(UpdateSchema))


class UpdateList(Schema):
    updates = fields.List(fields.Nested(UpdateSchema))


class UpdateQuery(Schema):
    prefix = fields.String(load_default="")
    tag = fields.String(load_default="")
    author = fields.String(load_default="")
    before = fields.Integer(load_default=None, validate=validate.Range(1, 2**62))
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))


class NewUpdate(Schema):
    body = fields.String(required=True)
    namespace = fields.String(load_default="")


class UpdateBody(Schema):
    body = fields.String(required=True)


def update_json(u) -> dict:
    return {"id": u.id, "author": u.author, "body": u.body, "html": u.html,
            "namespace": u.namespace, "created": u.created, "edited": u.edited,
            "tags": list(u.tags), "reply_to": u.reply_to, "replies": u.replies,
            "likes": u.likes, "liked": u.liked}


@bp.route("/updates")
class UpdatesResource(MethodView):
    @bp.arguments(UpdateQuery, location="query")
    @bp.response(200, UpdateList)
    def get(self, query):
        """Posts the caller may read, newest first (`before`: an id, for the next page)."""
        found = services().updates.stream(_reader(), **query)
        return {"updates": [update_json(u) for u in found]}

    @bp.arguments(NewUpdate)
    @bp.response(201, UpdateSchema)
    def post(self, body):
        """Post an update to the whole wiki or to a namespace (at most 1,000 characters)."""
        return update_json(services().updates.post(_writer(), body["body"],
                                                   body["namespace"])), 201


@bp.route("/updates/<int:update_id>")
class UpdateResource(MethodView):
    @bp.response(200, UpdateWithReplies)
    def get(self, update_id):
        """An update with its replies."""
        post, replies = services().updates.get(_reader(), update_id)
        return {**update_json(post), "thread": [update_json(r) for r in replies]}

    @bp.arguments(UpdateBody)
    @bp.response(200, UpdateSchema)
    def patch(self, body, update_id):
        """Edit your update."""
        return update_json(services().updates.edit(_writer(), update_id, body["body"]))

    @bp.response(204)
    def delete(self, update_id):
        """Delete your update (its replies stay)."""
        services().updates.delete(_writer(), update_id)


@bp.route("/updates/<int:update_id>/replies", methods=["POST"])
@bp.arguments(UpdateBody)
@bp.response(201, UpdateSchema)
def reply(body, update_id):
    """Reply to an update (one level: a reply to a reply joins the post)."""
    return update_json(services().updates.reply(_writer(), update_id, body["body"])), 201


@bp.route("/updates/<int:update_id>/like")
class LikeResource(MethodView):
    @bp.response(200, UpdateSchema)
    def post(self, update_id):
        """Like an update (409 when you do already)."""
        return update_json(services().updates.like(_writer(), update_id, True))

    @bp.response(200, UpdateSchema)
    def delete(self, update_id):
        """Stop liking an update."""
        return update_json(services().updates.like(_writer(), update_id, False))
