"""Who may do what: an ``Actor`` (the caller) and what it may do on a repo it is asked about.

What an actor may do is the lesser of what its account may do and what the credential it used allows:

- the account: site admins and the owner of a namespace may do everything there; an organisation's members
  may read (role ``read``), also create branches and commit to branches other than the default one
  (``contributor``), or write and manage its repos (``write``, ``admin``);
- the credential: a password or browser session allows everything the account may do; a ``read`` token
  reading, a ``write`` token everything; a ``fineGrained`` token what its scopes list (see scopes.py).

Public repos may be read by anyone (anonymous callers included), whatever their credential's scope.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from hubstead.accounts.models import Account, OrgRole, Token, TokenRole
from hubstead.accounts.scopes import READ_PERMISSIONS, REPO_ACCESS_READ, REPO_WRITE, FineGrained


class Level(enum.IntEnum):
    NONE = 0
    READ = 1
    CONTRIBUTE = 2  # create branches, commit to branches other than the default one
    WRITE = 3  # everything: the default branch, tags, settings, deletion, access requests


ROLE_LEVEL = {
    OrgRole.READ: Level.READ,
    OrgRole.CONTRIBUTOR: Level.CONTRIBUTE,
    OrgRole.WRITE: Level.WRITE,
    OrgRole.ADMIN: Level.WRITE,
}


@dataclass(frozen=True)
class Actor:
    """The caller of a request: an account (or nobody), the token it used if any, and where it came from."""

    account: Account | None = None
    token: Token | None = None
    org_roles: dict[str, OrgRole] = field(default_factory=dict)  # org name (lower) -> role
    scopes: FineGrained | None = None  # fine-grained tokens only
    ip: str | None = None

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
        return self.token is None or self.token.role != TokenRole.READ

    @property
    def uses_full_credential(self) -> bool:
        """A password, a browser session or a write token: what may manage the account itself (tokens)."""
        return self.account is not None and (self.token is None or self.token.role == TokenRole.WRITE)


ANONYMOUS = Actor()


@dataclass(frozen=True)
class Access:
    read: bool
    write: bool
    contribute: bool = False
    member: bool = False  # owner, org member or site admin (through this credential): no gate applies
    see_requests: bool = False  # may list a gated repo's access requests


def _account_level(actor: Actor, namespace: str) -> Level:
    if actor.account is None:
        return Level.NONE
    if actor.is_admin or actor.account.name.lower() == namespace.lower():
        return Level.WRITE
    role = actor.org_roles.get(namespace.lower())
    return Level.NONE if role is None else ROLE_LEVEL[role]


def _credential_level(actor: Actor, permissions: frozenset[str] | None) -> Level:
    """What the credential allows; ``permissions`` are the fine-grained token's permissions on the target."""
    token = actor.token
    if token is None:
        return Level.WRITE
    if token.role == TokenRole.READ:
        return Level.READ
    if token.role == TokenRole.WRITE:
        return Level.WRITE
    permissions = permissions or frozenset()
    if REPO_WRITE in permissions:
        return Level.WRITE
    return Level.READ if permissions & READ_PERMISSIONS else Level.NONE


def _access(level: Level, member: Level, see_requests: bool) -> Access:
    return Access(
        read=level >= Level.READ,
        write=level >= Level.WRITE,
        contribute=level >= Level.CONTRIBUTE,
        member=member >= Level.READ,
        see_requests=see_requests,
    )


def namespace_access(actor: Actor, namespace: str) -> Access:
    """What ``actor`` may do with repos owned by ``namespace`` (a user or an org), private ones included."""
    permissions = actor.scopes.namespace_permissions(namespace) if actor.scopes else None
    level = min(_account_level(actor, namespace), _credential_level(actor, permissions))
    return _access(level, level, see_requests=False)


def repo_access(actor: Actor, namespace: str, private: bool, repo_type: str = "", name: str = "") -> Access:
    """What ``actor`` may do with one repo. A private repo it may not read must look like a missing one.

    Without ``repo_type`` and ``name`` a fine-grained token's scopes on single repos are not consulted (which
    only ever grants less)."""
    permissions = actor.scopes.repo_permissions(repo_type, namespace, name) if actor.scopes else None
    account, credential = _account_level(actor, namespace), _credential_level(actor, permissions)
    member = min(account, credential)
    level = member if private else max(member, Level.READ)
    # managers see access requests with a full credential, or a fine-grained token holding repo.access.read
    see_requests = account >= Level.WRITE and (
        credential >= Level.WRITE or (permissions is not None and REPO_ACCESS_READ in permissions)
    )
    return _access(level, member, see_requests)


@dataclass(frozen=True)
class PrivateReach:
    """Which private repos an actor may list: all of them, those of some namespaces, or some one by one."""

    everything: bool = False
    namespaces: frozenset[str] = frozenset()  # lower-cased
    repos: frozenset[tuple[str, str]] = frozenset()  # (repo type, lower-cased repo id)


def private_reach(actor: Actor) -> PrivateReach:
    if actor.account is None:
        return PrivateReach()
    own = frozenset({actor.account.name.lower(), *actor.org_roles})
    if actor.scopes is None:
        return PrivateReach(everything=actor.is_admin, namespaces=own)
    scoped = actor.scopes.readable_namespaces()
    repos = actor.scopes.readable_repos()
    if actor.is_admin:
        return PrivateReach(namespaces=scoped, repos=repos)
    return PrivateReach(namespaces=scoped & own, repos=frozenset(r for r in repos if r[1].split("/")[0] in own))
