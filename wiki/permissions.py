"""Who may do what: the single policy every service asks before it reveals or changes a page.

No Flask here: the web, the API, search, feeds and git's pre-receive hook ask the same object.
Views never decide permissions themselves.
"""

from wiki import paths
from wiki.acl import Acl, Rule
from wiki.errors import PageNotFound, PermissionDenied, Unauthorized
from wiki.users import Account


class Permissions:
    """The single policy every service asks before it reveals or changes a page.

    Without rules: logged-in users read everything, editors and admins write, anonymous
    visitors read only when `anonymous_read` is on. A rule on a prefix replaces that default
    for the pages under it (the most specific prefix wins). Admins read and write everything.
    Readers never write, whatever a rule says.
    """

    def __init__(self, acl: Acl, anonymous_read: bool):
        self.acl = acl
        self.anonymous_read = anonymous_read
        self._version = None
        self._rules: list[Rule] = []
        self._by_key: dict[str, Rule] = {}
        self._groups: dict[int, frozenset[str]] = {}

    def _current(self) -> list[Rule]:
        version = self.acl.version()
        if version != self._version:
            rules = sorted(self.acl.rules(), key=lambda r: len(r.key), reverse=True)
            self._rules, self._by_key = rules, {r.key: r for r in rules}
            self._groups = {}
            self._version = version
        return self._rules

    def rule_for(self, name: str) -> Rule | None:
        """The most specific rule covering `name`: the page itself, then its namespaces
        upwards (a dictionary lookup each: page lists ask this for every page)."""
        self._current()
        by_key, key = self._by_key, paths.key(name)
        while by_key:
            if key in by_key:
                return by_key[key]
            key, slash, _ = key.rpartition("/")
            if not slash:
                break
        return None

    def principals(self, account: Account) -> frozenset[str]:
        if account.is_anonymous:
            return frozenset({"anyone"})
        self._current()
        cache = self._groups  # a rule change meanwhile replaces it: never store stale groups
        groups = cache.get(account.id)
        if groups is None:
            groups = cache[account.id] = self.acl.groups_of(account.id)
        return frozenset({"anyone", "users", f"user:{account.name.lower()}",
                          *(f"group:{g}" for g in groups)})

    def _default_read(self, account: Account) -> bool:
        return not account.is_anonymous or self.anonymous_read

    def can_read(self, account: Account, name: str | None = None) -> bool:
        if account.is_admin:
            return True
        if name is None:  # the wiki at all: lists and feeds are then filtered page by page
            return self._default_read(account) or any(
                "anyone" in r.read for r in self._current())
        rule = self.rule_for(name)
        if rule is None:
            return self._default_read(account)
        return bool(rule.read & self.principals(account))

    def can_write(self, account: Account, name: str | None = None) -> bool:
        if not account.can_edit:
            return False
        if account.is_admin:
            return True
        rule = self.rule_for(name) if name else None
        if rule is None:
            return True
        principals = self.principals(account)
        return bool(rule.write & principals) and bool(rule.read & principals)

    def read_filter(self, account: Account) -> tuple[bool, tuple[tuple[str, bool], ...]]:
        """What this account may read, for filters inside queries (search): the default
        and, per rule prefix, whether the rule lets the account read."""
        if account.is_admin:
            return True, ()
        principals = self.principals(account)
        return self._default_read(account), tuple((r.prefix, bool(r.read & principals))
                                                  for r in self._current())

    def refuse_unseen(self, account: Account) -> None:
        """What anything this account may not see (or that does not exist) answers first:
        visitors who must log in are told to, which says nothing about whether it exists."""
        if account.is_anonymous and not self._default_read(account):
            raise Unauthorized()

    def require_read(self, account: Account, name: str | None = None) -> None:
        """Refuse reading; a page the account may not read looks exactly like a missing one."""
        if self.can_read(account, name):
            return
        self.refuse_unseen(account)
        if name is not None:
            raise PageNotFound()
        raise PermissionDenied()

    def require_write(self, account: Account, name: str | None = None) -> None:
        if self.can_write(account, name):
            return
        if account.is_anonymous:
            raise Unauthorized()
        if name is not None and not self.can_read(account, name):
            raise PageNotFound()
        raise PermissionDenied("Your account may not change this page.")

    def require_admin(self, account: Account) -> None:
        if account.is_anonymous:
            raise Unauthorized()
        if not account.is_admin:
            raise PermissionDenied()
