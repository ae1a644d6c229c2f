"""Accounts through the API: access tokens (shown once, stored hashed, revoked at once), whoami-v2 as
huggingface.co reports tokens, signing in and out with the session cookie, failed sign-ins rate limited,
site administration, and the audit log that records all of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from hubstead.accounts.models import Account, Token
from hubstead.accounts.services import hash_token
from hubstead.ratelimit import InMemoryRateLimiter
from tests.api._support import auth
from tests.conftest import User, make_org, make_user

PASSWORD = "correct horse battery"  # conftest.make_user's


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def root(hub: Any) -> User:
    return make_user(hub, "root", is_admin=True)


def count(hub: Any, model: Any) -> int:
    with hub.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def audit(client: TestClient, root: User, **params: str) -> list[dict[str, Any]]:
    response = client.get("/api/hubstead/admin/audit", params={"format": "jsonl", **params}, headers=auth(root.token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


# --- tokens -------------------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_stored_hashed_and_works(client, hub, user):
    created = client.post(
        "/api/hubstead/tokens", json={"displayName": "laptop", "role": "write"}, headers=auth(user.token)
    )

    assert created.status_code == 200, created.text
    clear = created.json()["token"]
    assert clear.startswith("hf_")
    with hub.sessions() as session:
        stored = session.scalar(select(Token).where(Token.name == "laptop"))
        assert stored is not None
        assert stored.token_hash == hash_token(clear) != clear
    listed = client.get("/api/hubstead/tokens", headers=auth(user.token)).json()
    assert "laptop" in {t["displayName"] for t in listed}
    assert clear not in json.dumps(listed)
    whoami = client.get("/api/whoami-v2", headers=auth(clear)).json()
    assert whoami["name"] == "alice"
    assert whoami["auth"]["accessToken"]["displayName"] == "laptop"
    assert whoami["auth"]["accessToken"]["role"] == "write"


def test_whoami_reports_a_fine_grained_token_as_huggingface_co_does(client, hub, user):
    make_org(hub, "acme", {"alice": "write"})
    rights = {
        "global": ["discussion.write"],
        "scoped": [
            {"entity": {"type": "org", "name": "ACME"}, "permissions": ["repo.write", "repo.content.read"]},
            {"entity": {"type": "dataset", "name": "alice/data"}, "permissions": ["repo.content.read"]},
        ],
        "canReadGatedRepos": True,
    }
    created = client.post(
        "/api/hubstead/tokens",
        json={"displayName": "ci", "role": "fineGrained", "fineGrained": rights},
        headers=auth(user.token),
    )
    assert created.status_code == 200, created.text

    token = client.get("/api/whoami-v2", headers=auth(created.json()["token"])).json()["auth"]["accessToken"]

    assert token["role"] == "fineGrained"
    fine = token["fineGrained"]
    assert fine["global"] == ["discussion.write"]
    assert fine["canReadGatedRepos"] is True
    assert [(s["entity"]["type"], s["entity"]["name"], s["permissions"]) for s in fine["scoped"]] == [
        ("org", "acme", ["repo.content.read", "repo.write"]),
        ("dataset", "alice/data", ["repo.content.read"]),
    ]
    assert fine["scoped"][0]["entity"]["_id"]


@pytest.mark.parametrize(
    "rights",
    [
        {"scoped": [{"entity": {"type": "user", "name": "bob"}, "permissions": ["repo.write"]}]},
        {"scoped": [{"entity": {"type": "org", "name": "nowhere"}, "permissions": ["repo.write"]}]},
        {"scoped": [{"entity": {"type": "model", "name": "a/b"}, "permissions": ["repo.delete"]}]},
        {"scoped": "everything"},
    ],
    ids=["another-user", "not-a-member", "unknown-permission", "malformed"],
)
def test_a_token_cannot_be_scoped_beyond_its_owner_and_nothing_is_created(client, hub, user, other_user, rights):
    before = count(hub, Token)

    refused = client.post(
        "/api/hubstead/tokens",
        json={"displayName": "x", "role": "fineGrained", "fineGrained": rights},
        headers=auth(user.token),
    )

    assert refused.status_code == 400, refused.text
    assert count(hub, Token) == before


@pytest.mark.parametrize("who", ["read", "fine-grained", "anonymous"])
def test_only_a_full_credential_manages_tokens(client, hub, user, who):
    token = {"read": user.read_token, "anonymous": None}.get(who)
    if who == "fine-grained":
        scope = {"scoped": [{"entity": {"type": "user", "name": "alice"}, "permissions": ["repo.write"]}]}
        token = client.post(
            "/api/hubstead/tokens",
            json={"displayName": "fg", "role": "fineGrained", "fineGrained": scope},
            headers=auth(user.token),
        ).json()["token"]
    before = count(hub, Token)

    refused = client.post("/api/hubstead/tokens", json={"displayName": "more", "role": "write"}, headers=auth(token))

    assert refused.status_code == (401 if who == "anonymous" else 403)
    assert count(hub, Token) == before


def test_a_revoked_token_is_refused_at_once(client, user):
    created = client.post("/api/hubstead/tokens", json={"displayName": "t", "role": "write"}, headers=auth(user.token))
    token, token_id = created.json()["token"], created.json()["id"]
    assert client.get("/api/whoami-v2", headers=auth(token)).status_code == 200

    revoked = client.delete(f"/api/hubstead/tokens/{token_id}", headers=auth(user.token))

    assert revoked.status_code == 200
    refused = client.get("/api/whoami-v2", headers=auth(token))
    assert refused.status_code == 401
    assert refused.headers["x-error-message"] == "Invalid credentials in Authorization header"
    assert client.get("/api/models", headers=auth(token)).status_code == 401


def test_nobody_revokes_another_users_token(client, user, other_user, hub):
    with hub.sessions() as session:
        theirs = session.scalar(select(Token.id).where(Token.token_hash == hash_token(other_user.token)))

    refused = client.delete(f"/api/hubstead/tokens/{theirs}", headers=auth(user.token))

    assert refused.status_code == 404
    assert client.get("/api/whoami-v2", headers=auth(other_user.token)).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer " + "x" * 300,
        "Bearer hf_\u00e9t\u00e9",
        "Bearer hf_a b",
        "Basic !!!notbase64",
        "Basic " + "YWxpY2U6",  # "alice:" with no password: anonymous
        "Token hf_abc",
        "Bearer hf_" + "0" * 34,
    ],
    ids=["too-long", "non-ascii", "space", "bad-base64", "empty-password", "unknown-scheme", "unknown-token"],
)
def test_badly_formed_credentials_get_a_clear_401(client, header):
    response = client.get("/api/whoami-v2", headers={"authorization": header.encode("utf-8")})

    assert response.status_code == 401
    assert response.json()["error"]


# --- signing in -------------------------------------------------------------------------------------------


def test_sign_in_sets_a_session_cookie_that_reads_but_never_writes(client, hub, user):
    signed_in = client.post("/api/hubstead/login", json={"username": "alice", "password": PASSWORD})

    assert signed_in.status_code == 200, signed_in.text
    cookie = signed_in.headers["set-cookie"].lower()
    assert "hubstead_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert client.get("/api/whoami-v2").json()["name"] == "alice"
    refused = client.post("/api/repos/create", json={"name": "from-a-cookie"})
    assert refused.status_code == 401  # a cookie alone never authorises a change (no CSRF through the API)

    signed_out = client.post("/api/hubstead/logout")

    assert signed_out.status_code == 200
    assert client.get("/api/whoami-v2").status_code == 401


def test_a_private_file_downloads_with_the_session_cookie(client, user):
    client.post("/api/repos/create", json={"name": "secret", "private": True}, headers=auth(user.token))
    assert client.get("/alice/secret/resolve/main/.gitattributes").status_code == 404

    client.post("/api/hubstead/login", json={"username": "alice", "password": PASSWORD})

    assert client.get("/alice/secret/resolve/main/.gitattributes").status_code == 200


def test_wrong_passwords_over_and_over_are_rate_limited(client, hub, user, root, settings):
    hub.__dict__["rate_limiter"] = InMemoryRateLimiter(clock=lambda: 1000.0)  # no window ends mid-test
    limit = settings.rate_limit.login_failures
    for _ in range(limit):
        wrong = client.post("/api/hubstead/login", json={"username": "alice", "password": "guess" * 3})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "Invalid username or password"

    limited = client.post("/api/hubstead/login", json={"username": "alice", "password": "guess" * 3})
    locked_out = client.post("/api/hubstead/login", json={"username": "alice", "password": PASSWORD})

    for response in (limited, locked_out):
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) > 0
        assert response.headers["ratelimit"].startswith('"login";r=0;t=')
        assert f"q={limit}" in response.headers["ratelimit-policy"]
    assert "hubstead_session" not in locked_out.headers.get("set-cookie", "")
    failures = audit(client, root, action="signin.failure")
    assert [(e["target"]["name"], e["ip"]) for e in failures] == [("alice", "testclient")] * limit


def test_unknown_users_sign_in_like_wrong_passwords(client):
    response = client.post("/api/hubstead/login", json={"username": "nobody", "password": PASSWORD})

    assert response.status_code == 401
    assert response.json()["error"] == "Invalid username or password"


@pytest.mark.parametrize(
    "body", [{"username": "alice"}, {"username": "", "password": "x"}, {"username": ["alice"], "password": "x"}]
)
def test_malformed_sign_ins_are_refused(client, user, body):
    assert client.post("/api/hubstead/login", json=body).status_code == 422


def test_a_huge_body_is_refused_before_it_is_read(client, user, hub):
    before = count(hub, Token)
    huge = b'{"displayName": "' + b"x" * (1024 * 1024) + b'"}'

    for url in ("/api/hubstead/login", "/api/hubstead/tokens", "/api/hubstead/admin/users"):
        response = client.post(url, content=huge, headers={"content-type": "application/json"} | auth(user.token))
        assert response.status_code == 413, url
    assert count(hub, Token) == before


# --- site administration --------------------------------------------------------------------------------


def test_a_disabled_user_is_locked_out_at_once_and_enabled_again(client, root, user):
    client.post("/api/hubstead/login", json={"username": "alice", "password": PASSWORD})
    cookies = dict(client.cookies)

    disabled = client.patch("/api/hubstead/admin/users/alice", json={"disabled": True}, headers=auth(root.token))

    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True
    assert client.get("/api/whoami-v2", headers=auth(user.token)).status_code == 401
    assert client.get("/api/whoami-v2", cookies=cookies).status_code == 401
    assert client.post("/api/hubstead/login", json={"username": "alice", "password": PASSWORD}).status_code == 401
    client.patch("/api/hubstead/admin/users/alice", json={"disabled": False}, headers=auth(root.token))
    assert client.get("/api/whoami-v2", headers=auth(user.token)).status_code == 200


def test_an_admin_cannot_lock_themselves_out(client, root):
    response = client.patch("/api/hubstead/admin/users/root", json={"disabled": True}, headers=auth(root.token))

    assert response.status_code == 400
    assert client.get("/api/whoami-v2", headers=auth(root.token)).status_code == 200


def test_an_account_that_owns_repos_is_not_deleted(client, hub, root, user):
    client.post("/api/repos/create", json={"name": "kept"}, headers=auth(user.token))

    refused = client.delete("/api/hubstead/admin/users/alice", headers=auth(root.token))

    assert refused.status_code == 409
    assert "delete or move" in refused.json()["error"]
    client.request("DELETE", "/api/repos/delete", json={"name": "kept"}, headers=auth(user.token))
    assert client.delete("/api/hubstead/admin/users/alice", headers=auth(root.token)).status_code == 200
    assert client.get("/api/whoami-v2", headers=auth(user.token)).status_code == 401
    assert client.get("/api/hubstead/admin/users/alice", headers=auth(root.token)).status_code == 404


def test_membership_changes_take_effect_at_once(client, hub, root, user, other_user):
    make_org(hub, "acme", {"alice": "admin"})
    client.post(
        "/api/repos/create", json={"name": "plans", "organization": "acme", "private": True}, headers=auth(user.token)
    )
    member = client.put("/api/hubstead/admin/orgs/acme/members/bob", json={"role": "read"}, headers=auth(root.token))
    assert member.status_code == 200, member.text
    assert client.get("/api/models/acme/plans", headers=auth(other_user.token)).status_code == 200
    members = client.get("/api/hubstead/admin/orgs/acme/members", headers=auth(root.token)).json()
    assert {(m["user"], m["role"]) for m in members} == {("alice", "admin"), ("bob", "read")}

    removed = client.delete("/api/hubstead/admin/orgs/acme/members/bob", headers=auth(root.token))

    assert removed.status_code == 200
    assert client.get("/api/models/acme/plans", headers=auth(other_user.token)).status_code == 404


def test_admins_create_users_orgs_and_tokens_and_list_them(client, root):
    made = client.post(
        "/api/hubstead/admin/users",
        json={"name": "carol", "email": "carol@example.org", "password": "long enough password"},
        headers=auth(root.token),
    )
    assert made.status_code == 200, made.text
    assert client.post("/api/hubstead/admin/orgs", json={"name": "acme"}, headers=auth(root.token)).status_code == 200
    token = client.post(
        "/api/hubstead/admin/users/carol/tokens", json={"displayName": "ops", "role": "read"}, headers=auth(root.token)
    )
    assert token.status_code == 200, token.text
    assert client.get("/api/whoami-v2", headers=auth(token.json()["token"])).json()["name"] == "carol"

    users = client.get("/api/hubstead/admin/users", params={"limit": 2}, headers=auth(root.token)).json()
    rest = client.get("/api/hubstead/admin/users", params={"after": users[-1]["name"]}, headers=auth(root.token))
    orgs = client.get("/api/hubstead/admin/orgs", headers=auth(root.token)).json()
    tokens = client.get("/api/hubstead/admin/users/carol/tokens", headers=auth(root.token)).json()

    assert [u["name"] for u in users + rest.json()] == ["carol", "root"]
    assert [o["name"] for o in orgs] == ["acme"]
    assert [t["displayName"] for t in tokens] == ["ops"]
    revoked = client.delete(f"/api/hubstead/admin/tokens/{tokens[0]['id']}", headers=auth(root.token))
    assert revoked.status_code == 200
    assert client.get("/api/whoami-v2", headers=auth(token.json()["token"])).status_code == 401


@pytest.mark.parametrize(
    "name",
    ["bad name", "../etc", "a/b", "ünïcode", "x" * 200, "-dash", "admin", "a\u0000b", "tab\tname"],
)
def test_odd_account_names_are_refused_and_create_nothing(client, hub, root, name):
    before = count(hub, Account)

    for url in ("/api/hubstead/admin/users", "/api/hubstead/admin/orgs"):
        response = client.post(url, json={"name": name}, headers=auth(root.token))
        assert response.status_code in (400, 422), response.text
    assert count(hub, Account) == before


@pytest.mark.parametrize(
    ("name", "status"), [("", 422), ("   ", 400), ("a\u0000b", 400), ("line\nbreak", 400), ("x" * 101, 422)]
)
def test_odd_token_names_are_refused_and_create_nothing(client, hub, user, name, status):
    before = count(hub, Token)

    response = client.post("/api/hubstead/tokens", json={"displayName": name}, headers=auth(user.token))

    assert response.status_code == status, response.text
    assert count(hub, Token) == before


@pytest.mark.parametrize("path", ["/api/hubstead/tokens/abc", "/api/hubstead/tokens/99999999999999999999"])
def test_odd_token_ids_are_simply_not_found(client, user, path):
    assert client.delete(path, headers=auth(user.token)).status_code == 404


# --- the audit log --------------------------------------------------------------------------------------


def test_security_events_land_in_the_audit_log(client, hub, root, user, other_user):
    make_org(hub, "acme", {"alice": "admin"})
    token = client.post("/api/hubstead/tokens", json={"displayName": "tmp"}, headers=auth(user.token)).json()
    client.delete(f"/api/hubstead/tokens/{token['id']}", headers=auth(user.token))
    client.post("/api/repos/create", json={"name": "r"}, headers=auth(user.token))
    client.put("/api/models/alice/r/settings", json={"private": True}, headers=auth(user.token))
    client.put("/api/models/alice/r/settings", json={"gated": "manual", "private": False}, headers=auth(user.token))
    client.post("/api/models/alice/r/ask-access", headers=auth(other_user.token))
    client.post(
        "/api/models/alice/r/user-access-request/handle",
        json={"user": "bob", "status": "rejected", "rejectionReason": "no"},
        headers=auth(user.token),
    )
    client.post("/api/repos/move", json={"fromRepo": "alice/r", "toRepo": "acme/r"}, headers=auth(user.token))
    client.request("DELETE", "/api/repos/delete", json={"name": "r", "organization": "acme"}, headers=auth(user.token))
    client.put("/api/hubstead/admin/orgs/acme/members/bob", json={"role": "write"}, headers=auth(root.token))
    client.post("/api/hubstead/login", json={"username": "alice", "password": "not it at all"})

    events = audit(client, root)

    seen = [(e["action"], e["actor"], e["target"]["name"]) for e in events]
    for expected in [
        ("token.create", "alice", token["id"]),
        ("token.revoke", "alice", token["id"]),
        ("repo.visibility", "alice", "alice/r"),
        ("repo.gated", "alice", "alice/r"),
        ("access_request.create", "bob", "alice/r"),
        ("access_request.handle", "alice", "alice/r"),
        ("repo.move", "alice", "alice/r"),
        ("repo.delete", "alice", "acme/r"),
        ("org.member.set", "root", "acme"),
        ("signin.failure", None, "alice"),
    ]:
        assert expected in seen
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    handled = next(e for e in events if e["action"] == "access_request.handle")
    assert handled["details"] == {"user": "bob", "status": "rejected", "previous": "pending"}
    page = client.get("/api/hubstead/admin/audit", params={"action": "token", "limit": 1}, headers=auth(root.token))
    assert [e["action"] for e in page.json()] == ["token.create"]


def test_the_audit_log_is_for_site_admins_only(client, user):
    assert client.get("/api/hubstead/admin/audit", headers=auth(user.token)).status_code == 403
    assert client.get("/api/hubstead/admin/audit").status_code == 401
