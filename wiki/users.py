"""Accounts: users, roles, passwords (Argon2id) and API tokens (stored as SHA-256 hashes)."""

import hashlib
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from wiki.db import AuditEvent, Database, SetupToken, Token, User, utcnow
from wiki.errors import InvalidInput, NotFound, PageExists
from wiki.repo import Author

ROLES = ("reader", "editor", "admin")
# Accounts loaded for sessions are kept this long per process. A password change or logout in
# another worker process therefore ends this process's sessions within this many seconds.
ACCOUNT_CACHE_SECONDS = 2.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_PASSWORD = 8
# One plain address: it becomes a git author email and the `To:` header of notification
# email, so no spaces, line breaks or control characters (a ValueError in the email module
# that failed every post notifying the user), and no commas or angle brackets (more
# recipients).
_EMAIL = re.compile(r"[^\s\x00-\x1f\x7f@,;:<>()\[\]\"\\]+@[^\s\x00-\x1f\x7f@,;:<>()\[\]\"\\]+")
MAX_EMAIL = 254
MAX_DISPLAY_NAME = 128


def clean_email(value) -> str:
    """An email address as given (stripped), "" for none; InvalidInput when it is not one."""
    email = value.strip() if isinstance(value, str) else ""
    if email and (len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email)):
        raise InvalidInput("An email address looks like name@example.org.")
    return email


@dataclass(frozen=True)
class Account:
    """What the rest of the wiki knows about a person; `id` None means anonymous."""

    id: int | None
    name: str
    email: str = ""
    display_name: str = ""
    role: str = "anonymous"
    language: str = ""
    session_version: int = 0

    @property
    def is_anonymous(self) -> bool:
        return self.id is None

    @property
    def can_edit(self) -> bool:
        return self.role in ("editor", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def label(self) -> str:
        return self.display_name or self.name


ANONYMOUS = Account(id=None, name="anonymous")


def wiki_address(name: str, domain: str) -> str:
    """The wiki's own address for the account `name`: what its commits carry as email."""
    return f"{name}@{domain}"


def commit_author(account: Account, domain: str) -> Author:
    """Who a commit made by this account names as its author: the account name (unique, and
    not the user's to change) and the wiki's address for it (`Settings.author_host`). Never
    the display name or the email the user typed: both were the user's to set, so an editor
    could sign their edits as a colleague (issue 12)."""
    return Author(name=account.name, email=wiki_address(account.name, domain))


def authored_by(author: Author, account: Account, domain: str) -> bool:
    """Whether a commit's author address is the account's: its wiki address, or the email it
    gave the wiki (what a pusher's own `git config user.email` usually is)."""
    email = (author.email or "").strip().lower()
    return bool(email) and email in {wiki_address(account.name, domain).lower(),
                                     (account.email or "").lower()}


def account_name_of(email: str, domain: str) -> str | None:
    """The account name in one of the wiki's own author addresses, else None. Addresses at
    `kennis.invalid` are what earlier versions wrote for accounts without an email."""
    local, at, host = (email or "").rpartition("@")
    if at and local and host.lower() in {domain.lower(), "kennis.invalid"} \
            and _NAME.fullmatch(local):
        return local
    return None


def name_skeleton(text: str) -> str:
    """What two names look like to a reader: NFKC, case-folded, only letters and digits, so
    "Bob Smith", "bob.smith" and "ＢＯＢ_SMITH" are one name.

    A Unicode confusables skeleton (UTS #39, e.g. Cyrillic "о" as Latin "o") belongs here too:
    apply it to the result once the confusables library for page names is on main."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(ch for ch in unicodedata.normalize("NFKC", folded) if ch.isalnum())


@dataclass(frozen=True)
class UserInfo:
    """A line of the admin's user list."""

    name: str
    role: str
    email: str
    display_name: str
    created: datetime


@dataclass(frozen=True)
class TokenInfo:
    """An API token as its owner and admins see it (never its value)."""

    id: int
    user: str
    name: str
    created: datetime
    last_used: datetime | None


def account_of(user: User) -> Account:
    return Account(id=user.id, name=user.name, email=user.email,
                   display_name=user.display_name, role=user.role, language=user.language,
                   session_version=user.session_version)


def token_hash(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough; no KDF needed (unlike passwords).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Users:
    def __init__(self, db: Database):
        self.db = db
        # OWASP's recommended Argon2id parameters (19 MiB, 2 passes, 1 lane): about 30 ms
        # here, where the library defaults (64 MiB, 3 passes, 4 lanes) take 250 ms per login.
        self.hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self._dummy_hash: str | None = None
        self._recent: dict[int, tuple[float, Account | None]] = {}

    def _dummy(self) -> str:
        """Verifying against this when the user does not exist keeps login time the same
        for known and unknown names, so timing does not reveal which accounts exist."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_hex(16))
        return self._dummy_hash

    # --- users -------------------------------------------------------------------------------

    def create(self, name: str, password: str | None = None, role: str = "editor",
               email: str = "", display_name: str = "", actor: str = "system") -> Account:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidInput("A user name has 1-64 letters, digits, dots, dashes or underscores.")
        if role not in ROLES:
            raise InvalidInput(f"The role must be one of: {', '.join(ROLES)}.")
        email = clean_email(email)
        display_name = clean_display_name(display_name)
        with self.db.session() as s:
            if s.scalar(select(User).where(User.name_key == name.lower())):
                raise PageExists(f"The user {name} already exists.")
            _require_unique_email(s, email, None)
            _require_distinct_display_name(s, display_name, name, None)
            user = User(name=name, name_key=name.lower(), role=role, email=email,
                        display_name=display_name,
                        password_hash=self._hash(password) if password else "")
            s.add(user)
            s.add(AuditEvent(actor=actor, action="user.create", subject=name,
                             detail=f"role={role}"))
            s.flush()
            return account_of(user)

    @staticmethod
    def check_new_password(password: str) -> None:
        """InvalidInput when `password` may not be set (before anything else is changed)."""
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise InvalidInput(f"A password has at least {MIN_PASSWORD} characters.")

    def _hash(self, password: str) -> str:
        self.check_new_password(password)
        return self.hasher.hash(password)

    def get(self, user_id: int) -> Account | None:
        """The account for a session (every request asks, so it is cached briefly)."""
        now = time.monotonic()
        cached = self._recent.get(user_id)
        if cached and cached[0] > now:
            return cached[1]
        with self.db.engine.connect() as c:
            row = c.execute(select(User.__table__).where(User.id == user_id)).first()
        account = account_of(row) if row else None
        if len(self._recent) > 10_000:
            self._recent.clear()
        self._recent[user_id] = (now + ACCOUNT_CACHE_SECONDS, account)
        return account

    def _forget(self, user_id: int) -> None:
        self._recent.pop(user_id, None)

    def by_name(self, name: str) -> Account | None:
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name_key == str(name).lower()))
            return account_of(user) if user else None

    def count(self) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count(User.id))) or 0

    def listing(self) -> list[UserInfo]:
        with self.db.session() as s:
            return [UserInfo(u.name, u.role, u.email, u.display_name, u.created)
                    for u in s.scalars(select(User).order_by(User.name_key))]

    def all(self) -> list[Account]:
        with self.db.session() as s:
            return [account_of(u) for u in s.scalars(select(User).order_by(User.name_key))]

    def set_password(self, name: str, password: str, actor: str | None = None) -> Account:
        """Set the password (ending every session); `actor` None means the user themself."""
        new_hash = self._hash(password)
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name_key == name.lower()))
            if not user:
                raise NotFound(f"There is no user {name}.")
            user.password_hash = new_hash
            user.session_version += 1  # every existing session of this user ends
            s.add(AuditEvent(actor=actor or user.name, action="user.password",
                             subject=user.name))
            self._forget(user.id)
            return account_of(user)

    def set_role(self, name: str, role: str, actor: str = "system") -> Account:
        if role not in ROLES:
            raise InvalidInput(f"The role must be one of: {', '.join(ROLES)}.")
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name_key == name.lower()))
            if not user:
                raise NotFound(f"There is no user {name}.")
            s.add(AuditEvent(actor=actor, action="user.role", subject=user.name,
                             detail=f"{user.role} -> {role}"))
            user.role = role
            self._forget(user.id)
            return account_of(user)

    def update_profile(self, user_id: int, *, language: str | None = None,
                       email: str | None = None, display_name: str | None = None) -> Account:
        with self.db.session() as s:
            user = s.get(User, user_id)
            if not user:
                raise NotFound()
            if language is not None:
                if language not in ("", "en", "nl"):
                    raise InvalidInput("Unknown language.")
                user.language = language
            if email is not None:
                user.email = clean_email(email)
                _require_unique_email(s, user.email, user.id)
            if display_name is not None:
                display_name = clean_display_name(display_name)
                _require_distinct_display_name(s, display_name, user.name, user.id)
                user.display_name = display_name
            self._forget(user.id)
            return account_of(user)

    def end_sessions(self, user_id: int, actor: str | None = None) -> None:
        """End every session of the user; with an actor (an admin) it goes in the audit log,
        an ordinary logout does not."""
        with self.db.session() as s:
            user = s.get(User, user_id)
            if user:
                user.session_version += 1
                if actor:
                    s.add(AuditEvent(actor=actor, action="user.sessions", subject=user.name))
            self._forget(user_id)

    def authenticate(self, name: str, password: str) -> Account | None:
        """The account when name and password match, else None (same cost either way)."""
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name_key == str(name).lower()))
            stored = user.password_hash if user and user.password_hash else self._dummy()
            try:
                self.hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return None
            if user is None or not user.password_hash:
                return None
            if self.hasher.check_needs_rehash(stored):
                user.password_hash = self.hasher.hash(password)
            return account_of(user)

    def ensure_proxy_user(self, name: str, email: str | None = None,
                          display_name: str | None = None,
                          role: str = "editor") -> tuple[Account, bool]:
        """The account a trusted sign-on proxy names, created on first sight with `role`;
        email and display name follow the proxy when it sends them. Returns (account, created).
        """
        if email is not None:
            try:
                email = clean_email(email)
            except InvalidInput:  # the proxy's odd value must not keep the user out
                email = None
        if display_name is not None:
            try:
                display_name = clean_display_name(display_name)
                with self.db.session() as s:
                    _require_distinct_display_name(s, display_name, name, None)
            except InvalidInput:  # like an odd email: the user gets in, the name is not used
                display_name = None
        account = self.by_name(name)
        created = False
        if account is None:
            try:
                account = self.create(name, role=role, email=email or "",
                                      display_name=display_name or "", actor="proxy")
                created = True
            except (PageExists, IntegrityError):  # another worker created it just now
                account = self.by_name(name)
                if account is None:
                    raise
        changes = {}
        if email is not None and email != account.email:
            changes["email"] = email
        if display_name is not None and display_name != account.display_name:
            changes["display_name"] = display_name
        if changes:
            account = self.update_profile(account.id, **changes)
        return account, created

    # --- API tokens ----------------------------------------------------------------------------

    def create_token(self, user_name: str, token_name: str, actor: str | None = None) -> str:
        """Make a token for the user and return it; only its hash is kept.
        `actor` None means the user themself."""
        token_name = (token_name or "").strip()
        if not token_name or len(token_name) > 128:
            raise InvalidInput("A token needs a name of at most 128 characters.")
        token = "kennis_" + secrets.token_urlsafe(32)
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name_key == user_name.lower()))
            if not user:
                raise NotFound(f"There is no user {user_name}.")
            s.add(Token(user_id=user.id, name=token_name, token_hash=token_hash(token)))
            s.add(AuditEvent(actor=actor or user.name, action="token.create",
                             subject=user.name, detail=token_name))
        return token

    def tokens(self, user_id: int | None = None) -> list[TokenInfo]:
        """The tokens of one user, or of everyone (for admins), newest first."""
        query = (select(Token, User.name).join(User, User.id == Token.user_id)
                 .order_by(Token.id.desc()))
        if user_id is not None:
            query = query.where(Token.user_id == user_id)
        with self.db.session() as s:
            return [TokenInfo(t.id, owner, t.name, t.created, t.last_used)
                    for t, owner in s.execute(query)]

    def revoke_token(self, token_id: int, account: Account) -> TokenInfo:
        """Delete a token of the account's own, or anyone's for an admin. A token of someone
        else looks like a missing one, so ids reveal nothing."""
        with self.db.session() as s:
            row = s.get(Token, token_id) if 0 < token_id < 2**63 else None
            if row is None or account.id is None or (
                    row.user_id != account.id and not account.is_admin):
                raise NotFound("There is no such token.")
            owner = s.get(User, row.user_id)
            info = TokenInfo(row.id, owner.name, row.name, row.created, row.last_used)
            s.delete(row)
            s.add(AuditEvent(actor=account.name, action="token.revoke", subject=owner.name,
                             detail=row.name))
        return info

    def by_token(self, token: str) -> Account | None:
        if not token or len(token) > 200:
            return None
        with self.db.session() as s:
            row = s.scalar(select(Token).where(Token.token_hash == token_hash(token)))
            if not row:
                return None
            now = utcnow()
            # "Last used" to the minute is enough; writing it on every API call is not.
            if row.last_used is None or (now - row.last_used).total_seconds() > 60:
                row.last_used = now
            user = s.get(User, row.user_id)
            return account_of(user) if user else None

    # --- first admin -----------------------------------------------------------------------------

    def create_setup_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self.db.session() as s:
            s.add(SetupToken(token_hash=token_hash(token)))
        return token

    def use_setup_token(self, token: str, name: str, password: str) -> Account:
        """Create the first admin with a one-time setup token; the token dies with it."""
        if not self.setup_token_valid(token):
            raise NotFound("This setup link is not valid (any more).")
        account = self.create(name, password, role="admin", actor="setup link")
        with self.db.session() as s:
            s.query(SetupToken).delete()
        return account

    def setup_token_valid(self, token: str) -> bool:
        """A setup link works once, and only while the wiki has no accounts at all."""
        with self.db.session() as s:
            if s.scalar(select(func.count(User.id))):
                return False
            return s.get(SetupToken, token_hash(token or "")) is not None


def clean_display_name(value) -> str:
    """A display name as shown (stripped, at most MAX_DISPLAY_NAME characters); InvalidInput
    for control or formatting characters (bidi overrides, zero-width joiners), which can
    make one name look like another."""
    text = value.strip()[:MAX_DISPLAY_NAME] if isinstance(value, str) else ""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in text):
        raise InvalidInput("A display name cannot contain control or formatting characters.")
    return text


def _require_distinct_display_name(s, display_name: str, own_name: str,
                                   user_id: int | None) -> None:
    """The header, mentions and notification email show display names: one that equals or
    closely resembles another account's name or display name would let an editor pass as a
    colleague."""
    wanted = name_skeleton(display_name)
    if not wanted:
        return
    query = select(User.name, User.display_name)
    if user_id is not None:
        query = query.where(User.id != user_id)
    for other_name, other_display in s.execute(query):
        if other_name.lower() == own_name.lower():
            continue
        if wanted in (name_skeleton(other_name), name_skeleton(other_display)):
            raise InvalidInput("This display name is too close to another account's name; "
                               "choose one that others can tell apart.")


def _require_unique_email(s, email: str, user_id: int | None) -> None:
    """Commits carry the author's email, and "your own saves" are recognised by it: two
    accounts with one address could pass off edits as each other's."""
    if not email:
        return
    query = select(User.id).where(func.lower(User.email) == email.lower())
    if user_id is not None:
        query = query.where(User.id != user_id)
    if s.scalar(query) is not None:
        raise InvalidInput("Another account already uses this email address.")
