"""Feed tokens: a per-user secret in Atom feed links, so feed readers need no browser session.

A feed token is not an API token: it lives in its own table, is only ever looked up by the feed
views (never by `auth.caller()`), and so reads feeds and nothing else: not the API, not pages,
not git. Like API tokens it is 256 random bits kept as a SHA-256 hash, shown once when made;
resetting it makes a new one and the old links stop working. What a feed shows is filtered with
the token's user, by the same permission policy as everything else.
"""

import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select

from wiki.db import Database, FeedToken, utcnow
from wiki.errors import NotFound, Unauthorized
from wiki.users import Account, Users, token_hash

PREFIX = "kennisfeed_"


class FeedTokenInvalid(NotFound):
    """This feed link is not valid (any more). Get a new one under Feeds in your inbox."""


class FeedTokens:
    def __init__(self, db: Database, users: Users,
                 audit: Callable[[str, str, str, str], None]):
        self.db = db
        self.users = users
        self.audit = audit

    def reset(self, account: Account) -> str:
        """A new feed token for the account (the old one stops working); only its hash is
        kept, so this return value is the one time it is seen."""
        if account.is_anonymous:
            raise Unauthorized()
        token = PREFIX + secrets.token_urlsafe(32)
        with self.db.session() as s:
            s.merge(FeedToken(user_id=account.id, token_hash=token_hash(token), created=utcnow()))
        self.audit(account.name, "feedtoken.reset", account.name, "")
        return token

    def remove(self, account: Account) -> None:
        if account.is_anonymous:
            raise Unauthorized()
        with self.db.session() as s:
            s.execute(delete(FeedToken).where(FeedToken.user_id == account.id))
        self.audit(account.name, "feedtoken.remove", account.name, "")

    def created(self, account: Account) -> datetime | None:
        """When the account's feed token was made, or None when it has none."""
        if account.is_anonymous:
            return None
        with self.db.session() as s:
            row = s.get(FeedToken, account.id)
            return row.created if row else None

    def account(self, token: str) -> Account:
        """The owner of a feed token; FeedTokenInvalid for anything else."""
        if not isinstance(token, str) or not token.startswith(PREFIX) or len(token) > 200:
            raise FeedTokenInvalid()
        with self.db.session() as s:
            user_id = s.scalar(select(FeedToken.user_id)
                               .where(FeedToken.token_hash == token_hash(token)))
        account = self.users.get(user_id) if user_id is not None else None
        if account is None:
            raise FeedTokenInvalid()
        return account
