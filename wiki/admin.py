"""Administration use cases: accounts, groups, rules, tokens and the audit log, admins only.

Every method asks `Permissions.require_admin` first and names the admin as the actor, so each
change lands in the audit log. Changes take effect at once: rules and groups through the acl
stamp, accounts through the users cache (a few seconds in other worker processes).
"""

from dataclasses import dataclass

from wiki import paths
from wiki.acl import Acl, Event, Rule
from wiki.errors import InvalidInput, NotFound
from wiki.permissions import Permissions
from wiki.users import ANONYMOUS, Account, TokenInfo, UserInfo, Users


@dataclass(frozen=True)
class Access:
    """What one account may do with one page, and why."""

    user: str  # "" for anonymous visitors
    role: str
    read: bool
    write: bool
    # "admin", "default" (no rule applies) or the principals of the deciding rule that match
    # (empty: the rule names nobody this account is). Readers never write, whatever the rule.
    reason: str


@dataclass(frozen=True)
class PageAccess:
    page: str
    rule: Rule | None  # the rule that decides; None means the default applies
    entries: tuple[Access, ...]


class Admin:
    def __init__(self, users: Users, acl: Acl, permissions: Permissions):
        self.users = users
        self.acl = acl
        self.permissions = permissions

    def _require(self, account: Account) -> str:
        self.permissions.require_admin(account)
        return account.name

    # --- users ---------------------------------------------------------------------------------

    def user_list(self, account: Account) -> list[UserInfo]:
        self._require(account)
        return self.users.listing()

    def create_user(self, account: Account, name: str, password: str, role: str,
                    email: str = "") -> Account:
        actor = self._require(account)
        return self.users.create(name, password, role=role, email=email,
                                 actor=actor)

    def set_role(self, account: Account, name: str, role: str) -> Account:
        actor = self._require(account)
        target = self._user(name)
        if target.is_admin and role != "admin" and self._admin_count() <= 1:
            raise InvalidInput("The wiki needs at least one admin; make someone else admin "
                               "first.")
        return self.users.set_role(target.name, role, actor=actor)

    def reset_password(self, account: Account, name: str, password: str) -> Account:
        actor = self._require(account)
        return self.users.set_password(self._user(name).name, password, actor=actor)

    def end_sessions(self, account: Account, name: str) -> None:
        actor = self._require(account)
        self.users.end_sessions(self._user(name).id, actor=actor)

    def _user(self, name: str) -> Account:
        found = self.users.by_name(name or "")
        if found is None:
            raise NotFound(f"There is no user {name}.")
        return found

    def _admin_count(self) -> int:
        return sum(1 for u in self.users.listing() if u.role == "admin")

    # --- groups and rules ----------------------------------------------------------------------

    def groups(self, account: Account) -> dict[str, list[str]]:
        self._require(account)
        return self.acl.groups()

    def add_members(self, account: Account, group: str, names: str) -> None:
        """`names` as typed: separated by commas or spaces."""
        actor = self._require(account)
        members = [n for n in names.replace(",", " ").split() if n]
        if not members:
            raise InvalidInput("Name at least one user to add.")
        self.acl.add_members(group.strip(), members, actor=actor)

    def remove_member(self, account: Account, group: str, name: str) -> None:
        self.acl.remove_member(group, name, actor=self._require(account))

    def rules(self, account: Account) -> list[Rule]:
        self._require(account)
        return self.acl.rules()

    def set_rule(self, account: Account, prefix: str, read: str, write: str | None) -> Rule:
        """Write left empty means: the same as read (as `wiki acl set` without --write)."""
        actor = self._require(account)
        return self.acl.set_rule(prefix, read, write if write and write.strip() else None,
                                 actor=actor)

    def remove_rule(self, account: Account, prefix: str) -> None:
        self.acl.remove_rule(prefix, actor=self._require(account))

    def access(self, account: Account, page: str) -> PageAccess | None:
        """Who can read and write `page` (which need not exist), and which rule decides;
        None when no page is named yet."""
        self._require(account)
        if not page.strip():
            return None
        page = paths.normalize(page)
        rule = self.permissions.rule_for(page)
        entries = [self._access(person, page, rule)
                   for person in (ANONYMOUS, *self.users.all())]
        return PageAccess(page, rule, tuple(entries))

    def _access(self, person: Account, page: str, rule: Rule | None) -> Access:
        read = self.permissions.can_read(person, page)
        write = self.permissions.can_write(person, page)
        if person.is_admin:
            reason = "admin"
        elif rule is None:
            reason = "default"
        else:
            principals = self.permissions.principals(person)
            reason = ", ".join(sorted((rule.read | rule.write) & principals))
        return Access("" if person.is_anonymous else person.name, person.role, read, write,
                      reason)

    # --- tokens and the audit log --------------------------------------------------------------

    def tokens(self, account: Account) -> list[TokenInfo]:
        self._require(account)
        return self.users.tokens()

    def events(self, account: Account, limit: int = 200) -> list[Event]:
        self._require(account)
        return self.acl.events(limit=limit)
