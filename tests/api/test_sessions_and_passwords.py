"""A signed-in user's website sessions (listed, ended one by one or all but the current one), changing one's
password (the current one required; wrong ones count as failed sign-ins; other sessions end) and a site admin's
password reset; each in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from hubstead.accounts.models import WebSession
from hubstead.audit.models import AuditEvent
from hubstead.ratelimit import InMemoryRateLimiter
from tests.api._support import auth
from tests.api.test_accounts import count
from tests.conftest import User, make_user

PASSWORD = "correct horse battery"  # conftest.make_user's
NEW = "a brand new passphrase"


@pytest.fixture
def root(hub: Any) -> User:
    return make_user(hub, "root", is_admin=True)


def sign_in(client: TestClient, name: str = "alice", password: str = PASSWORD) -> Any:
    return client.post("/api/hubstead/login", json={"username": name, "password": password})


@pytest.fixture
def browsers(app: Any, user: User) -> Iterator[list[TestClient]]:
    """Three browsers, each signed in as alice."""
    clients = [TestClient(app) for _ in range(3)]
    for client in clients:
        assert sign_in(client).status_code == 200
    yield clients
    for client in clients:
        client.close()


def events(hub: Any, prefix: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    with hub.sessions() as session:
        rows = session.query(AuditEvent).filter(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)
        return [(e.action, e.actor, e.details or {}) for e in rows]


def signed_in(client: TestClient) -> bool:
    return client.get("/api/whoami-v2").status_code == 200


# --- sessions ---------------------------------------------------------------------------------------------


def test_a_browser_lists_the_users_sessions_and_knows_its_own(browsers, user):
    listed = browsers[0].get("/api/hubstead/sessions")

    assert listed.status_code == 200, listed.text
    sessions = listed.json()
    assert len(sessions) == 3
    assert [s["current"] for s in sessions].count(True) == 1
    assert set(sessions[0]) == {"id", "createdAt", "lastSeenAt", "expiresAt", "current"}
    assert "hubstead_session" not in listed.text


def test_a_write_token_lists_the_sessions_none_of_them_current(app, browsers, user):
    with TestClient(app) as api:
        listed = api.get("/api/hubstead/sessions", headers=auth(user.token))

    assert [s["current"] for s in listed.json()] == [False, False, False]


def test_one_session_is_ended_with_a_write_token(app, browsers, hub, user):
    sessions = browsers[0].get("/api/hubstead/sessions").json()
    other = next(s for s in sessions if not s["current"])

    with TestClient(app) as api:
        ended = api.delete(f"/api/hubstead/sessions/{other['id']}", headers=auth(user.token))
        again = api.delete(f"/api/hubstead/sessions/{other['id']}", headers=auth(user.token))

    assert ended.status_code == 200, ended.text
    assert again.status_code == 404
    assert [signed_in(b) for b in browsers].count(False) == 1
    assert events(hub, "session.") == [("session.revoke", "alice", {"count": 1})]


def test_all_other_sessions_end_and_the_current_one_stays(browsers, hub, user):
    ended = browsers[0].delete("/api/hubstead/sessions", headers=auth(user.token))

    assert ended.status_code == 200, ended.text
    assert ended.json() == {"revoked": 2}
    assert [signed_in(b) for b in browsers] == [True, False, False]


def test_a_cookie_alone_never_ends_sessions_and_nobody_ends_anothers(app, browsers, hub, user, other_user):
    theirs = browsers[0].get("/api/hubstead/sessions").json()[0]["id"]
    before = count(hub, WebSession)

    with TestClient(app) as api:
        responses = [
            browsers[0].delete("/api/hubstead/sessions"),  # the cookie is not honoured on a change
            browsers[0].delete(f"/api/hubstead/sessions/{theirs}"),
            api.delete(f"/api/hubstead/sessions/{theirs}", headers=auth(other_user.token)),
            api.delete("/api/hubstead/sessions/abc", headers=auth(user.token)),
            api.delete("/api/hubstead/sessions", headers=auth(user.read_token)),
            api.get("/api/hubstead/sessions", headers=auth(user.read_token)),
        ]

    assert [r.status_code for r in responses] == [401, 401, 404, 404, 403, 403]
    assert count(hub, WebSession) == before


# --- changing one's password ------------------------------------------------------------------------------


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(browsers, app, hub, user):
    changed = browsers[0].post("/api/hubstead/password", json={"currentPassword": PASSWORD, "newPassword": NEW})

    assert changed.status_code == 200, changed.text
    assert changed.json() == {"sessionsEnded": 2}
    assert [signed_in(b) for b in browsers] == [True, False, False]
    with TestClient(app) as fresh:
        assert sign_in(fresh, password=PASSWORD).status_code == 401
        assert sign_in(fresh, password=NEW).status_code == 200
    assert client_tokens_still_work(app, user)
    assert events(hub, "user.password") == [("user.password.change", "alice", {"sessionsEnded": 2})]


def client_tokens_still_work(app: Any, user: User) -> bool:
    with TestClient(app) as api:
        return api.get("/api/whoami-v2", headers=auth(user.token)).status_code == 200


def test_a_write_token_changes_the_password_too(app, user):
    with TestClient(app) as api:
        changed = api.post(
            "/api/hubstead/password", json={"currentPassword": PASSWORD, "newPassword": NEW}, headers=auth(user.token)
        )
        assert changed.status_code == 200, changed.text
        assert sign_in(api, password=NEW).status_code == 200


def test_a_wrong_current_password_changes_nothing_and_is_counted(app, hub, user, settings):
    hub.__dict__["rate_limiter"] = InMemoryRateLimiter(clock=lambda: 1000.0)
    limit = settings.rate_limit.login_failures
    body = {"currentPassword": "not my password", "newPassword": NEW}
    with TestClient(app) as api:
        wrong = [api.post("/api/hubstead/password", json=body, headers=auth(user.token)) for _ in range(limit)]
        limited = api.post(
            "/api/hubstead/password", json={"currentPassword": PASSWORD, "newPassword": NEW}, headers=auth(user.token)
        )
        assert sign_in(api, password=NEW).status_code in (401, 429)

    assert {r.status_code for r in wrong} == {403}
    assert wrong[0].json()["error"] == "The current password is wrong"
    assert limited.status_code == 429
    assert limited.headers["ratelimit"].startswith('"login";r=0;t=')
    assert int(limited.headers["retry-after"]) > 0
    failures = events(hub, "signin.failure")
    assert failures[:limit] == [("signin.failure", "alice", {"reason": "password change"})] * limit
    assert events(hub, "user.password") == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"currentPassword": PASSWORD, "newPassword": "short"}, 400),
        ({"currentPassword": PASSWORD, "newPassword": "x" * 2000}, 400),
        ({"currentPassword": PASSWORD}, 422),
        ({"currentPassword": PASSWORD, "newPassword": NEW, "other": 1}, 422),
        ({"currentPassword": 5, "newPassword": NEW}, 422),
    ],
)
def test_bad_password_changes_are_refused_and_change_nothing(app, user, body, status):
    with TestClient(app) as api:
        response = api.post("/api/hubstead/password", json=body, headers=auth(user.token))
        assert response.status_code == status, response.text
        assert response.json()["error"]
        assert sign_in(api, password=PASSWORD).status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "read token"])
def test_only_the_signed_in_user_with_a_full_credential_changes_a_password(app, user, who):
    token = user.read_token if who == "read token" else None
    with TestClient(app) as api:
        response = api.post(
            "/api/hubstead/password", json={"currentPassword": PASSWORD, "newPassword": NEW}, headers=auth(token)
        )
        assert response.status_code == (401 if who == "anonymous" else 403)
        assert sign_in(api, password=PASSWORD).status_code == 200


# --- a site admin's reset ---------------------------------------------------------------------------------


def test_a_site_admin_resets_a_password_and_ends_every_session(app, browsers, hub, root, user):
    with TestClient(app) as api:
        reset = api.put("/api/hubstead/admin/users/alice/password", json={"password": NEW}, headers=auth(root.token))
        refused = api.put("/api/hubstead/admin/users/alice/password", json={"password": NEW}, headers=auth(user.token))
        short = api.put("/api/hubstead/admin/users/alice/password", json={"password": "x"}, headers=auth(root.token))
        missing = api.put("/api/hubstead/admin/users/nobody/password", json={"password": NEW}, headers=auth(root.token))
        assert sign_in(api, password=NEW).status_code == 200

    assert reset.status_code == 200, reset.text
    assert reset.json() == {"sessionsEnded": 3}
    assert [signed_in(b) for b in browsers] == [False, False, False]
    assert (refused.status_code, short.status_code, missing.status_code) == (403, 400, 404)
    assert events(hub, "user.password") == [("user.password.reset", "root", {"sessionsEnded": 3})]
