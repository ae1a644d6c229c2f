"""Organisations managed by their own admins: adding members, changing roles, removing them (or leaving), the
last admin kept, every change in the audit log; and the member list huggingface.co serves, as
``HfApi.list_organization_members`` reads it, page by page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi
from starlette.testclient import TestClient

from hubstead.accounts.models import Membership
from hubstead.audit.models import AuditEvent
from hubstead.config import RateLimitSettings, Settings
from tests.api._support import auth
from tests.api.test_accounts import count
from tests.conftest import User, make_org, make_user

MEMBERS = "/api/hubstead/orgs/acme/members"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "hub",
        database_url=database_url,
        secret_key="k",
        list_page_size=2,
        rate_limit=RateLimitSettings(enabled=False),
    )


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def people(hub: Any) -> dict[str, User]:
    """olga admins acme, dave writes, carol reads; bob is nobody there."""
    users = {name: make_user(hub, name) for name in ("olga", "dave", "carol", "bob")}
    make_org(hub, "acme", {"olga": "admin", "dave": "write", "carol": "read"})
    return users


def roles(client: TestClient, token: str) -> dict[str, str]:
    response = client.get(MEMBERS, headers=auth(token))
    assert response.status_code == 200, response.text
    return {m["user"]: m["role"] for m in response.json()}


def member_events(hub: Any) -> list[tuple[str, str | None, dict[str, Any]]]:
    with hub.sessions() as session:
        events = session.query(AuditEvent).filter(AuditEvent.action.startswith("org.member.")).order_by(AuditEvent.id)
        return [(e.action, e.actor, e.details or {}) for e in events]


def test_an_org_admin_adds_promotes_and_removes_members_each_change_audited(client, hub, people):
    olga = people["olga"].token

    added = client.put(f"{MEMBERS}/bob", json={"role": "contributor"}, headers=auth(olga))
    promoted = client.put(f"{MEMBERS}/bob", json={"role": "admin"}, headers=auth(olga))
    removed = client.delete(f"{MEMBERS}/carol", headers=auth(olga))

    assert added.status_code == 200, added.text
    assert added.json() == {"user": "bob", "fullname": "Bob", "role": "contributor"}
    assert promoted.json()["role"] == "admin"
    assert removed.status_code == 200, removed.text
    assert roles(client, olga) == {"olga": "admin", "dave": "write", "bob": "admin"}
    assert member_events(hub)[-3:] == [
        ("org.member.set", "olga", {"user": "bob", "role": "contributor"}),
        ("org.member.set", "olga", {"user": "bob", "role": "admin", "previous": "contributor"}),
        ("org.member.remove", "olga", {"user": "carol", "role": "read"}),
    ]
    # bob's new role works at once: he manages members himself
    assert client.put(f"{MEMBERS}/carol", json={"role": "read"}, headers=auth(people["bob"].token)).status_code == 200


@pytest.mark.parametrize("who", ["dave", "carol", "bob", "olga-read-token", "anonymous"])
def test_only_org_admins_with_a_write_token_manage_members(client, hub, people, who):
    tokens = {"olga-read-token": people["olga"].read_token, "anonymous": None}
    token = tokens[who] if who in tokens else people[who].token
    before = count(hub, Membership), len(member_events(hub))

    attempts = [
        client.put(f"{MEMBERS}/bob", json={"role": "admin"}, headers=auth(token)),
        client.put(f"{MEMBERS}/carol", json={"role": "admin"}, headers=auth(token)),
        client.delete(f"{MEMBERS}/olga", headers=auth(token)),
    ]

    assert {r.status_code for r in attempts} == {401 if who == "anonymous" else 403}
    assert (count(hub, Membership), len(member_events(hub))) == before


def test_members_see_roles_and_outsiders_do_not(client, people):
    assert roles(client, people["carol"].token) == {"olga": "admin", "dave": "write", "carol": "read"}
    assert roles(client, people["olga"].read_token)["olga"] == "admin"
    assert client.get(MEMBERS, headers=auth(people["bob"].token)).status_code == 403
    assert client.get(MEMBERS).status_code == 401


def test_the_last_admin_is_neither_demoted_nor_removed(client, hub, people):
    olga = people["olga"].token
    before = len(member_events(hub))

    demoted = client.put(f"{MEMBERS}/olga", json={"role": "write"}, headers=auth(olga))
    removed = client.delete(f"{MEMBERS}/olga", headers=auth(olga))

    for response in (demoted, removed):
        assert response.status_code == 409, response.text
        assert "last admin" in response.json()["error"]
        assert response.headers["x-error-message"]
    assert roles(client, olga)["olga"] == "admin"
    assert len(member_events(hub)) == before
    # with a second admin, the first may step down
    client.put(f"{MEMBERS}/dave", json={"role": "admin"}, headers=auth(olga))
    assert client.put(f"{MEMBERS}/olga", json={"role": "read"}, headers=auth(olga)).status_code == 200
    assert roles(client, olga) == {"olga": "read", "dave": "admin", "carol": "read"}


def test_a_member_may_leave_but_not_remove_others(client, people):
    carol = people["carol"].token

    assert client.delete(f"{MEMBERS}/dave", headers=auth(carol)).status_code == 403
    left = client.delete(f"{MEMBERS}/carol", headers=auth(carol))

    assert left.status_code == 200, left.text
    assert "carol" not in roles(client, people["olga"].token)


@pytest.mark.parametrize(
    ("url", "body", "status"),
    [
        (f"{MEMBERS}/nobody", {"role": "read"}, 404),
        ("/api/hubstead/orgs/nowhere/members/bob", {"role": "read"}, 404),
        ("/api/hubstead/orgs/olga/members/bob", {"role": "read"}, 404),  # a user is not an organisation
        (f"{MEMBERS}/bob", {"role": "owner"}, 422),
        (f"{MEMBERS}/bob", {}, 422),
        (f"{MEMBERS}/bob", {"role": "read", "extra": 1}, 422),
    ],
)
def test_bad_member_changes_are_refused_and_change_nothing(client, hub, people, url, body, status):
    before = count(hub, Membership), len(member_events(hub))

    response = client.put(url, json=body, headers=auth(people["olga"].token))

    assert response.status_code == status, response.text
    assert response.json()["error"]
    assert (count(hub, Membership), len(member_events(hub))) == before


def test_removing_a_non_member_is_not_found(client, people):
    response = client.delete(f"{MEMBERS}/bob", headers=auth(people["olga"].token))

    assert response.status_code == 404
    assert "not a member" in response.json()["error"]


def test_fine_grained_tokens_need_the_members_permissions(client, people):
    def token(*permissions: str) -> str:
        scope = {"scoped": [{"entity": {"type": "org", "name": "acme"}, "permissions": list(permissions)}]}
        created = client.post(
            "/api/hubstead/tokens",
            json={"displayName": "fg", "role": "fineGrained", "fineGrained": scope},
            headers=auth(people["olga"].token),
        )
        assert created.status_code == 200, created.text
        return str(created.json()["token"])

    repo_only, reader, writer = token("repo.write"), token("org.members.read"), token("org.members.write")

    assert client.get(MEMBERS, headers=auth(repo_only)).status_code == 403
    assert client.get(MEMBERS, headers=auth(reader)).status_code == 200
    assert client.put(f"{MEMBERS}/bob", json={"role": "read"}, headers=auth(reader)).status_code == 403
    assert client.put(f"{MEMBERS}/bob", json={"role": "read"}, headers=auth(writer)).status_code == 200


# --- the member list of huggingface.co ---------------------------------------------------------------------


def test_hf_api_lists_every_member_across_pages(live_server, hub, people):
    make_user(hub, "erin")
    with hub.sessions.begin() as session:
        from hubstead.accounts.models import OrgRole
        from hubstead.accounts.services import AccountService

        accounts = AccountService(session)
        accounts.set_membership(accounts.get_org("acme"), accounts.get_user("erin"), OrgRole.CONTRIBUTOR)

    members = list(HfApi(endpoint=live_server).list_organization_members("acme", token=False))

    assert [m.username for m in members] == ["carol", "dave", "erin", "olga"]  # four, two a page
    assert members[0].fullname == "Carol"
    assert getattr(members[0], "role", None) is None  # roles are for members only


def test_the_member_list_pages_with_a_link_header_and_shows_roles_to_members(client, people):
    first = client.get("/api/organizations/acme/members", headers=auth(people["dave"].token))
    link = first.headers["link"]
    second = client.get(link.split(">")[0].lstrip("<"), headers=auth(people["dave"].token))

    assert link.startswith("<http://testserver/api/organizations/acme/members?cursor=dave>")
    assert link.endswith('rel="next"')
    assert [(m["user"], m["role"], m["type"]) for m in first.json()] == [
        ("carol", "read", "user"),
        ("dave", "write", "user"),
    ]
    assert [(m["user"], m["role"]) for m in second.json()] == [("olga", "admin")]
    assert "link" not in second.headers


@pytest.mark.parametrize("org", ["nowhere", "olga"])
def test_the_member_list_of_a_missing_org_is_not_found(client, people, org):
    assert client.get(f"/api/organizations/{org}/members").status_code == 404
