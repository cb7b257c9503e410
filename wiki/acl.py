"""Groups, namespace permission rules and the audit log: stored in SQL, decided in auth.py.

A rule grants read and write on a prefix (a namespace such as `HR` covers `HR` and `HR/…`, or
a single page) to principals: `user:NAME`, `group:NAME`, `users` (anyone logged in) or
`anyone`. The most specific (longest) matching prefix wins. Every change touches a stamp file
so that every worker process reloads the rules on its next request.
"""

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from wiki import paths
from wiki.db import AclRule, AuditEvent, Database, Group, GroupMember, User
from wiki.errors import InvalidInput, NotFound

ADD_ATTEMPTS = 8  # each failed attempt means another request's membership landed

_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PRINCIPAL = re.compile(r"(anyone|users|user:[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
                        r"|group:[A-Za-z0-9][A-Za-z0-9._-]{0,63})")


@dataclass(frozen=True)
class Rule:
    prefix: str
    read: frozenset[str]
    write: frozenset[str]

    @property
    def key(self) -> str:
        return paths.key(self.prefix)

    def covers(self, name_key: str) -> bool:
        return name_key == self.key or name_key.startswith(self.key + "/")


@dataclass(frozen=True)
class Event:
    created: datetime
    actor: str
    action: str
    subject: str
    detail: str


def parse_principals(text: str | None) -> frozenset[str]:
    """`user:ann, group:hr` -> {"user:ann", "group:hr"}; names are compared in lower case."""
    found = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if not _PRINCIPAL.fullmatch(part):
            raise InvalidInput(f"{part!r} is not user:NAME, group:NAME, users or anyone.")
        found.add(part.lower())
    return frozenset(found)


class Acl:
    def __init__(self, db: Database, stamp: Path):
        self.db = db
        self.stamp = Path(stamp)

    def _changed(self) -> None:
        self.stamp.parent.mkdir(parents=True, exist_ok=True)
        self.stamp.touch()
        os.utime(self.stamp)

    def version(self) -> int:
        try:
            return self.stamp.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    # --- rules ---------------------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        with self.db.session() as s:
            return [Rule(r.prefix, parse_principals(r.read), parse_principals(r.write))
                    for r in s.scalars(select(AclRule).order_by(AclRule.prefix_key))]

    def set_rule(self, prefix: str, read: str | None, write: str | None, actor: str) -> Rule:
        """Create or replace the rule on `prefix`; write defaults to the readers."""
        prefix = paths.normalize(prefix)
        readers = parse_principals(read)
        writers = readers if write is None else parse_principals(write)
        with self.db.session() as s:
            s.merge(AclRule(prefix_key=paths.key(prefix), prefix=prefix,
                            read=",".join(sorted(readers)), write=",".join(sorted(writers))))
            s.add(AuditEvent(actor=actor, action="acl.set", subject=prefix,
                             detail=f"read={','.join(sorted(readers))} "
                                    f"write={','.join(sorted(writers))}"))
        self._changed()
        return Rule(prefix, readers, writers)

    def remove_rule(self, prefix: str, actor: str) -> None:
        key = paths.key(paths.normalize(prefix))
        with self.db.session() as s:
            if s.get(AclRule, key) is None:
                raise NotFound(f"There is no rule on {prefix}.")
            s.execute(delete(AclRule).where(AclRule.prefix_key == key))
            s.add(AuditEvent(actor=actor, action="acl.remove", subject=prefix))
        self._changed()

    # --- groups --------------------------------------------------------------------------------

    def add_members(self, group: str, users: list[str], actor: str) -> None:
        if not _GROUP.fullmatch(group or ""):
            raise InvalidInput("A group name has 1-64 letters, digits, dots, dashes or "
                               "underscores.")
        for attempt in range(ADD_ATTEMPTS):
            try:
                self._add_members(group, users, actor)
                break
            except IntegrityError:
                # Another request added the same group or member just now (several requests
                # of one first sign-on through the proxy do): again, it is there now.
                if attempt == ADD_ATTEMPTS - 1:
                    raise
        self._changed()

    def _add_members(self, group: str, users: list[str], actor: str) -> None:
        with self.db.session() as s:
            row = s.scalar(select(Group).where(Group.name_key == group.lower()))
            if row is None:
                row = Group(name=group, name_key=group.lower())
                s.add(row)
                s.flush()
            for name in users:
                user = s.scalar(select(User).where(User.name_key == name.lower()))
                if user is None:
                    raise NotFound(f"There is no user {name}.")
                s.merge(GroupMember(group_id=row.id, user_id=user.id))
            s.add(AuditEvent(actor=actor, action="group.add", subject=group,
                             detail=", ".join(users)))

    def remove_member(self, group: str, user: str, actor: str) -> None:
        with self.db.session() as s:
            row = s.scalar(select(Group).where(Group.name_key == group.lower()))
            account = s.scalar(select(User).where(User.name_key == user.lower()))
            if row is None or account is None:
                raise NotFound("No such group or user.")
            s.execute(delete(GroupMember).where(GroupMember.group_id == row.id,
                                                GroupMember.user_id == account.id))
            s.add(AuditEvent(actor=actor, action="group.remove", subject=group, detail=user))
        self._changed()

    def groups(self) -> dict[str, list[str]]:
        """Group name -> member names."""
        with self.db.session() as s:
            result: dict[str, list[str]] = {g.name: [] for g in s.scalars(
                select(Group).order_by(Group.name_key))}
            rows = s.execute(select(Group.name, User.name)
                             .join(GroupMember, GroupMember.group_id == Group.id)
                             .join(User, User.id == GroupMember.user_id)
                             .order_by(Group.name_key, User.name_key))
            for group, user in rows:
                result[group].append(user)
            return result

    def groups_of(self, user_id: int) -> frozenset[str]:
        with self.db.session() as s:
            return frozenset(name.lower() for name in s.scalars(
                select(Group.name).join(GroupMember, GroupMember.group_id == Group.id)
                .where(GroupMember.user_id == user_id)))

    # --- audit log -----------------------------------------------------------------------------

    def record(self, actor: str, action: str, subject: str = "", detail: str = "") -> None:
        with self.db.session() as s:
            s.add(AuditEvent(actor=actor, action=action, subject=subject, detail=detail))

    def events(self, limit: int = 200, action: str | None = None) -> list[Event]:
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        with self.db.session() as s:
            return [Event(e.created, e.actor, e.action, e.subject, e.detail)
                    for e in s.scalars(query)]
