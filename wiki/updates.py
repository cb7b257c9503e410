"""Short updates (microblog): posts of up to 1,000 characters to the whole wiki or to a
namespace, with #tags, replies one level deep and likes.

A post to a namespace is seen by whoever may read that namespace; anyone logged in who may read
it may post and reply there (as with discussion comments: talking changes no page). Authors
edit and delete their posts; admins delete any. A post nobody may read answers like a missing one.
"""

import html
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from wiki import paths
from wiki.db import Database, UpdateLike, UpdateRow, UpdateTag, utcnow
from wiki.errors import InvalidInput, NotFound, PermissionDenied, Unauthorized, WikiError
from wiki.permissions import Permissions
from wiki.render import Renderer
from wiki.users import Account

MAX_CHARS = 1000
MAX_LIMIT = 100
TAG = re.compile(r"(?<![\w&/\"'=#])#([^\W_][\w-]{0,49})", re.UNICODE)


class UpdateNotFound(NotFound):
    """This update does not exist."""


class AlreadyLiked(WikiError):
    """You like this already."""

    status = 409
    code = "conflict"


@dataclass(frozen=True)
class Update:
    id: int
    author: str
    body: str
    html: str
    namespace: str
    created: datetime
    edited: datetime | None
    tags: tuple[str, ...]
    reply_to: int | None
    replies: int
    likes: int
    liked: bool
    deleted: bool


def tags_of(body: str) -> tuple[str, ...]:
    return tuple(sorted({t.casefold() for t in TAG.findall(body)}))


class Updates:
    def __init__(self, db: Database, renderer: Renderer, permissions: Permissions):
        self.db = db
        self.renderer = renderer
        self.permissions = permissions

    def _html(self, body: str) -> str:
        rendered = self.renderer.render(body).html
        return TAG.sub(lambda m: f'<a class="tag" href="/updates?tag={html.escape(m.group(1))}">'
                                 f'#{m.group(1)}</a>', rendered)

    def _check_body(self, body) -> str:
        body = (body or "").strip() if isinstance(body, str) else ""
        if not body:
            raise InvalidInput("An update needs some text.")
        if len(body) > MAX_CHARS:
            raise InvalidInput(f"An update can be at most {MAX_CHARS:,} characters.")
        return body

    def _readable(self, account: Account, namespace: str) -> bool:
        return self.permissions.can_read(account, namespace)

    def _row(self, s, account: Account, update_id: int) -> UpdateRow:
        row = s.get(UpdateRow, update_id) if 0 < update_id < 2**62 else None
        if row is None or not self._readable(account, row.namespace):
            self.permissions.refuse_unseen(account)
            raise UpdateNotFound()
        return row

    def _to_update(self, s, account: Account, row: UpdateRow) -> Update:
        replies = s.scalar(select(func.count()).select_from(UpdateRow).where(
            UpdateRow.reply_to == row.id, UpdateRow.deleted.is_(False)))
        likes = s.scalars(select(UpdateLike.user_id).where(UpdateLike.update_id == row.id)).all()
        tags = s.scalars(select(UpdateTag.tag).where(UpdateTag.update_id == row.id)
                         .order_by(UpdateTag.tag)).all()
        return Update(id=row.id, author=row.author_name, body="" if row.deleted else row.body,
                      html="" if row.deleted else self._html(row.body),
                      namespace=row.namespace, created=row.created, edited=row.edited,
                      tags=tuple(tags), reply_to=row.reply_to, replies=replies or 0,
                      likes=len(likes), liked=account.id in likes, deleted=row.deleted)

    def _require_poster(self, account: Account) -> None:
        if account.is_anonymous:
            raise Unauthorized()

    # --- writing -------------------------------------------------------------------------------

    def post(self, account: Account, body: str, namespace: str = "") -> Update:
        self._require_poster(account)
        namespace = paths.normalize(namespace) if namespace else ""
        if not self._readable(account, namespace):
            self.permissions.require_read(account, namespace)
        body = self._check_body(body)
        with self.db.session() as s:
            row = UpdateRow(namespace=namespace, namespace_key=paths.key(namespace),
                            author_id=account.id, author_name=account.name, body=body,
                            deleted=False, created=utcnow())
            s.add(row)
            s.flush()
            s.add_all(UpdateTag(update_id=row.id, tag=t) for t in tags_of(body))
            s.flush()
            return self._to_update(s, account, row)

    def reply(self, account: Account, update_id: int, body: str) -> Update:
        self._require_poster(account)
        body = self._check_body(body)
        with self.db.session() as s:
            parent = self._row(s, account, update_id)
            if parent.reply_to is not None:  # one level: a reply to a reply joins the post
                parent = self._row(s, account, parent.reply_to)
            if parent.deleted:
                raise InvalidInput("This update was deleted; it takes no replies.")
            row = UpdateRow(namespace=parent.namespace, namespace_key=parent.namespace_key,
                            reply_to=parent.id, author_id=account.id,
                            author_name=account.name, body=body, deleted=False,
                            created=utcnow())
            s.add(row)
            s.flush()
            s.add_all(UpdateTag(update_id=row.id, tag=t) for t in tags_of(body))
            s.flush()
            return self._to_update(s, account, row)

    def _own(self, s, account: Account, update_id: int) -> UpdateRow:
        self._require_poster(account)
        row = self._row(s, account, update_id)
        if row.deleted:
            raise UpdateNotFound()
        if row.author_id != account.id and not account.is_admin:
            raise PermissionDenied("Only its author may change an update.")
        return row

    def edit(self, account: Account, update_id: int, body: str) -> Update:
        body = self._check_body(body)
        with self.db.session() as s:
            row = self._own(s, account, update_id)
            row.body, row.edited = body, utcnow()
            s.execute(delete(UpdateTag).where(UpdateTag.update_id == row.id))
            s.add_all(UpdateTag(update_id=row.id, tag=t) for t in tags_of(body))
            s.flush()
            return self._to_update(s, account, row)

    def delete(self, account: Account, update_id: int) -> None:
        """The text goes; the post keeps its place so its replies keep their context."""
        with self.db.session() as s:
            row = self._own(s, account, update_id)
            row.deleted = True
            row.body = ""
            s.execute(delete(UpdateTag).where(UpdateTag.update_id == row.id))

    def like(self, account: Account, update_id: int, liked: bool = True) -> Update:
        self._require_poster(account)
        with self.db.session() as s:
            row = self._row(s, account, update_id)
            if row.deleted:
                raise UpdateNotFound()
            existing = s.get(UpdateLike, (row.id, account.id))
            if liked and existing:
                raise AlreadyLiked()
            if liked:
                s.add(UpdateLike(update_id=row.id, user_id=account.id))
            elif existing:
                s.delete(existing)
            s.flush()
            return self._to_update(s, account, row)

    # --- reading -------------------------------------------------------------------------------

    def get(self, account: Account, update_id: int) -> tuple[Update, list[Update]]:
        """A post and its replies, oldest reply first."""
        with self.db.session() as s:
            row = self._row(s, account, update_id)
            replies = s.scalars(select(UpdateRow).where(UpdateRow.reply_to == row.id)
                                .order_by(UpdateRow.id)).all()
            return (self._to_update(s, account, row),
                    [self._to_update(s, account, r) for r in replies if not r.deleted])

    def stream(self, account: Account, prefix: str = "", tag: str = "", author: str = "",
               before: int | None = None, limit: int = 20) -> list[Update]:
        """Posts (not replies) the account may read, newest first."""
        limit = max(1, min(int(limit), MAX_LIMIT))
        prefix = paths.normalize(prefix) if prefix else ""
        query = select(UpdateRow).where(UpdateRow.reply_to.is_(None),
                                        UpdateRow.deleted.is_(False))
        if prefix:
            key = paths.key(prefix)
            query = query.where((UpdateRow.namespace_key == key)
                                | UpdateRow.namespace_key.startswith(key + "/",
                                                                     autoescape=True))
        if tag:
            query = query.where(UpdateRow.id.in_(select(UpdateTag.update_id).where(
                UpdateTag.tag == tag.lstrip("#").casefold())))
        if author:
            query = query.where(func.lower(UpdateRow.author_name) == author.casefold())
        if before:
            query = query.where(UpdateRow.id < before)
        found: list[Update] = []
        with self.db.session() as s:
            # Filtering by permission in Python: read in pages until `limit` readable posts.
            last = None
            while len(found) < limit:
                page_query = query if last is None else query.where(UpdateRow.id < last)
                rows = s.scalars(page_query.order_by(UpdateRow.id.desc()).limit(200)).all()
                if not rows:
                    break
                for row in rows:
                    if self._readable(account, row.namespace):
                        found.append(self._to_update(s, account, row))
                        if len(found) == limit:
                            break
                last = rows[-1].id
        return found
