"""Who may do what: an ``Actor`` (the caller) and what it may do on a repo it is asked about."""

from __future__ import annotations

from dataclasses import dataclass, field

from hubstead.accounts.models import Account, OrgRole, Token, TokenRole

READ_ROLES = frozenset(OrgRole)
WRITE_ROLES = frozenset({OrgRole.WRITE, OrgRole.ADMIN})


@dataclass(frozen=True)
class Actor:
    """The caller of a request: an account (or nobody) and the token it used, if any."""

    account: Account | None = None
    token: Token | None = None
    org_roles: dict[str, OrgRole] = field(default_factory=dict)  # org name (lower) -> role

    @property
    def is_anonymous(self) -> bool:
        return self.account is None

    @property
    def is_admin(self) -> bool:
        return self.account is not None and self.account.is_admin

    @property
    def may_write_at_all(self) -> bool:
        """False for anonymous callers and read-only tokens."""
        if self.account is None:
            return False
        return self.token is None or self.token.role == TokenRole.WRITE


ANONYMOUS = Actor()


@dataclass(frozen=True)
class Access:
    read: bool
    write: bool


def namespace_access(actor: Actor, namespace: str) -> Access:
    """What ``actor`` may do with repos owned by ``namespace`` (a user or an org), private ones included."""
    if actor.account is None:
        return Access(read=False, write=False)
    if actor.is_admin or actor.account.name.lower() == namespace.lower():
        return Access(read=True, write=actor.may_write_at_all)
    role = actor.org_roles.get(namespace.lower())
    if role is None:
        return Access(read=False, write=False)
    return Access(read=True, write=role in WRITE_ROLES and actor.may_write_at_all)


def repo_access(actor: Actor, namespace: str, private: bool) -> Access:
    access = namespace_access(actor, namespace)
    if not private:
        return Access(read=True, write=access.write)
    return access
