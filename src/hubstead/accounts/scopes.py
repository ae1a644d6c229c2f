"""Fine-grained token rights, named as on huggingface.co: global permissions, permissions scoped to an entity
(a user, an organisation or one repo) and the ``canReadGatedRepos`` switch.

Stored on ``Token.fine_grained`` as whoami-v2 reports them::

    {"global": ["discussion.write"],
     "scoped": [{"entity": {"type": "org", "name": "acme", "_id": "..."}, "permissions": ["repo.content.read"]}],
     "canReadGatedRepos": true}

What Hubstead gives effect to: ``repo.content.read`` (read private repos and their files), ``repo.write``
(write to repos, change their settings, create repos in a user or org scope; implies ``repo.content.read``)
and ``repo.access.read`` (see the access requests of gated repos). The other huggingface.co permissions are
accepted and reported, and grant nothing here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hubstead.errors import InvalidInputError

REPO_CONTENT_READ = "repo.content.read"
REPO_WRITE = "repo.write"
REPO_ACCESS_READ = "repo.access.read"
READ_PERMISSIONS = frozenset({REPO_CONTENT_READ, REPO_WRITE})  # either lets a token read private content

GLOBAL_PERMISSIONS = frozenset({"discussion.write", "post.write"})
REPO_PERMISSIONS = frozenset({REPO_CONTENT_READ, REPO_WRITE, REPO_ACCESS_READ, "discussion.write"})
_SHARED = frozenset(
    {
        "collection.read",
        "collection.write",
        "discussion.write",
        "inference.endpoints.infer.write",
        "inference.endpoints.write",
        "inference.serverless.write",
        "job.write",
        "resourceGroup.write",
        "sql-console.embed.write",
        *REPO_PERMISSIONS,
    }
)
USER_PERMISSIONS = _SHARED | {
    "user.billing.read",
    "user.mcp.read",
    "user.notifications.read",
    "user.notifications.write",
    "user.papers.write",
    "user.preferences.write",
    "user.settings.notifications.write",
    "user.social.likes.write",
    "user.webhooks.read",
    "user.webhooks.write",
}
ORG_PERMISSIONS = _SHARED | {
    "org.auditLog.write",
    "org.billing.read",
    "org.members.read",
    "org.members.write",
    "org.networkSecurity.read",
    "org.networkSecurity.write",
    "org.read",
    "org.repos.read",
    "org.serviceAccounts.read",
    "org.serviceAccounts.write",
    "org.write",
}
REPO_ENTITY_TYPES = frozenset({"model", "dataset", "space"})
ENTITY_PERMISSIONS: dict[str, frozenset[str]] = {
    "user": frozenset(USER_PERMISSIONS),
    "org": frozenset(ORG_PERMISSIONS),
    **dict.fromkeys(REPO_ENTITY_TYPES, REPO_PERMISSIONS),
}
MAX_SCOPED = 100
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


@dataclass(frozen=True)
class Scope:
    entity_type: str  # user | org | model | dataset | space
    name: str  # lower-cased account name or repo id
    permissions: frozenset[str]


@dataclass(frozen=True)
class FineGrained:
    """The rights of a fine-grained token, parsed once per request."""

    global_permissions: frozenset[str]
    scoped: tuple[Scope, ...]
    can_read_gated_repos: bool

    @classmethod
    def from_stored(cls, data: Mapping[str, Any] | None) -> FineGrained:
        """From ``Token.fine_grained`` (already validated when the token was made); nothing for ``None``."""
        data = data or {}
        scoped = tuple(
            Scope(
                str(item["entity"]["type"]), str(item["entity"]["name"]).lower(), frozenset(item.get("permissions", []))
            )
            for item in data.get("scoped", [])
        )
        return cls(frozenset(data.get("global", [])), scoped, bool(data.get("canReadGatedRepos", False)))

    def namespace_permissions(self, namespace: str) -> frozenset[str]:
        """What the token may do with every repo of ``namespace`` (a user or an organisation)."""
        key = namespace.lower()
        found = set(self.global_permissions)
        for scope in self.scoped:
            if scope.entity_type in ("user", "org") and scope.name == key:
                found |= scope.permissions
        return frozenset(found)

    def repo_permissions(self, repo_type: str, namespace: str, name: str) -> frozenset[str]:
        """What the token may do with one repo: its namespace's scope plus the repo's own."""
        key = f"{namespace}/{name}".lower()
        found = set(self.namespace_permissions(namespace))
        for scope in self.scoped:
            if scope.entity_type == repo_type and scope.name == key:
                found |= scope.permissions
        return frozenset(found)

    def readable_namespaces(self) -> frozenset[str]:
        return frozenset(
            s.name for s in self.scoped if s.entity_type in ("user", "org") and s.permissions & READ_PERMISSIONS
        )

    def readable_repos(self) -> frozenset[tuple[str, str]]:
        """(repo type, lower-cased repo id) of the repos scoped one by one with a read permission."""
        return frozenset(
            (s.entity_type, s.name)
            for s in self.scoped
            if s.entity_type in REPO_ENTITY_TYPES and s.permissions & READ_PERMISSIONS
        )


@dataclass(frozen=True)
class ScopeRequest:
    """One scoped entry as a client asked for it, before the accounts it names are checked."""

    entity_type: str
    name: str
    permissions: list[str]


def parse_request(data: Any) -> tuple[list[str], list[ScopeRequest], bool]:
    """Check the shape and the permission names of a requested ``fineGrained`` object.

    Returns (global permissions, scoped entries, canReadGatedRepos). Whether the named users and organisations
    exist and may be scoped is for the caller to check (see ``AccountService.create_token``)."""
    if not isinstance(data, dict):
        raise InvalidInputError("fineGrained must be an object with 'global', 'scoped' and 'canReadGatedRepos'")
    global_permissions = _permission_list(data.get("global", []), GLOBAL_PERMISSIONS, "global")
    scoped_data = data.get("scoped", [])
    if not isinstance(scoped_data, list) or len(scoped_data) > MAX_SCOPED:
        raise InvalidInputError(f"fineGrained.scoped must be a list of at most {MAX_SCOPED} entries")
    gated = data.get("canReadGatedRepos", False)
    if not isinstance(gated, bool):
        raise InvalidInputError("fineGrained.canReadGatedRepos must be true or false")
    return global_permissions, [_scope_request(item) for item in scoped_data], gated


def _scope_request(item: Any) -> ScopeRequest:
    entity = item.get("entity") if isinstance(item, dict) else None
    if not isinstance(entity, dict):
        raise InvalidInputError("Each fineGrained.scoped entry needs an 'entity' object and 'permissions'")
    entity_type, name = entity.get("type"), entity.get("name")
    if entity_type not in ENTITY_PERMISSIONS:
        raise InvalidInputError(f"Unknown entity type {entity_type!r}: use user, org, model, dataset or space")
    pattern = _REPO_ID if entity_type in REPO_ENTITY_TYPES else _ACCOUNT
    if not isinstance(name, str) or not pattern.fullmatch(name):
        raise InvalidInputError(f"Invalid {entity_type} name {name!r}")
    permissions = _permission_list(item.get("permissions"), ENTITY_PERMISSIONS[entity_type], f"{entity_type} {name}")
    if not permissions:
        raise InvalidInputError(f"The scope of {entity_type} {name} grants no permission")
    return ScopeRequest(entity_type, name, permissions)


def _permission_list(value: Any, allowed: frozenset[str], where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise InvalidInputError(f"The permissions of {where} must be a list of strings")
    unknown = sorted(set(value) - allowed)
    if unknown:
        shown = ", ".join(repr(p[:60]) for p in unknown[:5])
        raise InvalidInputError(f"Unknown permission(s) for {where}: {shown}")
    return sorted(set(value))
