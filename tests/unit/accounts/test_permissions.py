"""What an actor may do with a repo: the lesser of its account's rights and its credential's, and public repos
readable by any valid caller. Pure functions over ORM objects that never touch a database."""

from __future__ import annotations

from typing import Any

import pytest

from hubstead.accounts.models import Account, AccountType, OrgRole, Token, TokenRole
from hubstead.accounts.permissions import ANONYMOUS, Actor, namespace_access, private_reach, repo_access
from hubstead.accounts.scopes import FineGrained, parse_request
from hubstead.errors import InvalidInputError


def actor(
    name: str = "alice",
    *,
    roles: dict[str, OrgRole] | None = None,
    role: TokenRole | None = None,
    rights: dict[str, Any] | None = None,
    admin: bool = False,
) -> Actor:
    account = Account(name=name, name_key=name, type=AccountType.USER, is_admin=admin, disabled=False)
    token = Token(name="t", role=role, fine_grained=rights) if role is not None else None
    scopes = FineGrained.from_stored(rights) if role == TokenRole.FINE_GRAINED else None
    return Actor(account=account, token=token, org_roles=roles or {}, scopes=scopes)


def scoped(entity_type: str, name: str, *permissions: str, gated: bool = False) -> dict[str, Any]:
    return {
        "global": [],
        "scoped": [{"entity": {"type": entity_type, "name": name}, "permissions": list(permissions)}],
        "canReadGatedRepos": gated,
    }


def rights_of(who: Actor, namespace: str = "acme", private: bool = True, name: str = "repo") -> tuple[bool, ...]:
    access = repo_access(who, namespace, private, "model", name)
    return access.read, access.contribute, access.write


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (OrgRole.READ, (True, False, False)),
        (OrgRole.CONTRIBUTOR, (True, True, False)),
        (OrgRole.WRITE, (True, True, True)),
        (OrgRole.ADMIN, (True, True, True)),
    ],
)
def test_org_roles_grant_increasing_rights_on_private_org_repos(role, expected):
    assert rights_of(actor(roles={"acme": role})) == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (ANONYMOUS, (False, False, False)),
        (actor("bob"), (False, False, False)),
        (actor("acme"), (True, True, True)),  # the namespace's own account
        (actor("root", admin=True), (True, True, True)),
        (actor("root", admin=True, role=TokenRole.READ), (True, False, False)),
    ],
    ids=["anonymous", "outsider", "owner", "site-admin", "site-admin-read-token"],
)
def test_who_may_do_what_with_a_private_repo(who, expected):
    assert rights_of(who) == expected


def test_public_repos_are_readable_by_everybody_but_writable_only_by_members():
    for who in (
        ANONYMOUS,
        actor("bob"),
        actor(role=TokenRole.FINE_GRAINED, rights=scoped("user", "alice", "repo.write")),
    ):
        assert rights_of(who, private=False) == (True, False, False)


def test_a_token_never_grants_more_than_the_account_has():
    reader = actor(
        roles={"acme": OrgRole.READ}, role=TokenRole.FINE_GRAINED, rights=scoped("org", "acme", "repo.write")
    )

    assert rights_of(reader) == (True, False, False)


@pytest.mark.parametrize(
    ("rights", "expected"),
    [
        (scoped("org", "acme", "repo.content.read"), (True, False, False)),
        (scoped("org", "acme", "repo.write"), (True, True, True)),
        (scoped("model", "acme/repo", "repo.write"), (True, True, True)),
        (scoped("dataset", "acme/repo", "repo.write"), (False, False, False)),  # another repo type
        (scoped("model", "acme/other", "repo.write"), (False, False, False)),
        (scoped("org", "other", "repo.write"), (False, False, False)),
        (scoped("org", "acme", "discussion.write"), (False, False, False)),
    ],
    ids=["org-read", "org-write", "repo-write", "other-type", "other-repo", "other-org", "no-repo-permission"],
)
def test_fine_grained_tokens_reach_only_their_scopes(rights, expected):
    admin_of_acme = actor(roles={"acme": OrgRole.ADMIN}, role=TokenRole.FINE_GRAINED, rights=rights)

    assert rights_of(admin_of_acme) == expected


def test_members_bypass_gates_only_through_a_credential_that_reaches_the_repo():
    member = actor(roles={"acme": OrgRole.READ})
    out_of_scope = actor(
        roles={"acme": OrgRole.READ}, role=TokenRole.FINE_GRAINED, rights=scoped("user", "alice", "repo.write")
    )

    assert repo_access(member, "acme", False, "model", "repo").member
    assert not repo_access(out_of_scope, "acme", False, "model", "repo").member
    assert not repo_access(actor("bob"), "acme", False, "model", "repo").member


def test_access_requests_are_seen_by_managers_with_a_full_credential_or_repo_access_read():
    def sees(who: Actor) -> bool:
        return repo_access(who, "acme", False, "model", "repo").see_requests

    admin = {"acme": OrgRole.ADMIN}
    assert sees(actor(roles=admin))
    assert not sees(actor(roles=admin, role=TokenRole.READ))
    assert sees(actor(roles=admin, role=TokenRole.FINE_GRAINED, rights=scoped("org", "acme", "repo.access.read")))
    assert not sees(actor(roles={"acme": OrgRole.READ}))


def test_creating_repos_in_a_namespace_needs_write_there():
    fine = actor(roles={"acme": OrgRole.WRITE}, role=TokenRole.FINE_GRAINED, rights=scoped("org", "acme", "repo.write"))

    assert namespace_access(fine, "acme").write
    assert not namespace_access(fine, "alice").write  # its own namespace is out of the token's scope
    assert namespace_access(actor(), "alice").write
    assert not namespace_access(actor(roles={"acme": OrgRole.CONTRIBUTOR}), "acme").write


def test_private_reach_of_a_fine_grained_token_is_its_scopes_within_the_accounts_reach():
    rights = {
        "global": [],
        "scoped": [
            {"entity": {"type": "org", "name": "acme"}, "permissions": ["repo.content.read"]},
            {"entity": {"type": "org", "name": "elsewhere"}, "permissions": ["repo.content.read"]},
            {"entity": {"type": "dataset", "name": "acme/data"}, "permissions": ["repo.write"]},
            {"entity": {"type": "model", "name": "stranger/model"}, "permissions": ["repo.write"]},
        ],
    }
    reach = private_reach(actor(roles={"acme": OrgRole.READ}, role=TokenRole.FINE_GRAINED, rights=rights))

    assert (reach.everything, reach.namespaces, reach.repos) == (False, {"acme"}, {("dataset", "acme/data")})
    assert private_reach(actor(admin=True)).everything
    assert private_reach(ANONYMOUS).namespaces == frozenset()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "must be an object"),
        ({"scoped": "x"}, "list"),
        ({"scoped": [{"entity": {"type": "team", "name": "a"}, "permissions": ["repo.write"]}]}, "entity type"),
        ({"scoped": [{"entity": {"type": "model", "name": "no-slash"}, "permissions": ["repo.write"]}]}, "Invalid"),
        (
            {"scoped": [{"entity": {"type": "model", "name": "a/b"}, "permissions": ["org.write"]}]},
            "Unknown permission",
        ),
        ({"scoped": [{"entity": {"type": "org", "name": "a"}, "permissions": []}]}, "grants no permission"),
        ({"global": ["repo.write"]}, "Unknown permission"),
        ({"canReadGatedRepos": "yes"}, "true or false"),
    ],
)
def test_malformed_fine_grained_rights_are_refused(data, fragment):
    with pytest.raises(InvalidInputError) as refused:
        parse_request(data)
    assert fragment.lower() in refused.value.message.lower()
