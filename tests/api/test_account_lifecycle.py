"""What goes with a deleted user (their likes, counted down on the repos they liked; their tokens, sessions and
memberships), and audit retention: events older than ``audit_retention_days`` go when the app starts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from hubstead.accounts.models import Account, Membership, Token, WebSession
from hubstead.audit.models import AuditEvent
from hubstead.config import RateLimitSettings, Settings
from hubstead.db.base import utcnow
from hubstead.repos.models import RepoLike
from tests.api._support import auth
from tests.conftest import User, make_org, make_user

PASSWORD = "correct horse battery"


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def root(hub: Any) -> User:
    return make_user(hub, "root", is_admin=True)


def rows_of(hub: Any, user_id: int) -> dict[str, int]:
    with hub.sessions() as session:
        return {
            model.__name__: int(session.scalar(select(func.count()).select_from(model).where(column == user_id)) or 0)
            for model, column in [
                (Token, Token.user_id),
                (WebSession, WebSession.user_id),
                (Membership, Membership.user_id),
                (RepoLike, RepoLike.user_id),
            ]
        }


def test_deleting_a_user_counts_their_likes_down_and_leaves_nothing_of_theirs(client, hub, root, user, other_user):
    carol = make_user(hub, "carol")
    make_org(hub, "acme", {"bob": "write", "alice": "admin"})
    for repo in ("m", "n"):
        assert client.post("/api/repos/create", json={"name": repo}, headers=auth(user.token)).status_code == 200
    for liker, repos in [(other_user, ("m", "n")), (carol, ("m",))]:
        for repo in repos:
            assert client.post(f"/api/models/alice/{repo}/like", headers=auth(liker.token)).status_code == 200
    assert client.post("/api/hubstead/login", json={"username": "bob", "password": PASSWORD}).status_code == 200
    with hub.sessions() as session:
        bob_id = session.scalar(select(Account.id).where(Account.name == "bob"))
    assert rows_of(hub, bob_id) == {"Token": 2, "WebSession": 1, "Membership": 1, "RepoLike": 2}
    assert client.get("/api/models/alice/m").json()["likes"] == 2

    deleted = client.delete("/api/hubstead/admin/users/bob", headers=auth(root.token))

    assert deleted.status_code == 200, deleted.text
    assert client.get("/api/models/alice/m").json()["likes"] == 1
    assert client.get("/api/models/alice/n").json()["likes"] == 0
    assert [u["user"] for u in client.get("/api/models/alice/m/likers").json()] == ["carol"]
    assert [m["id"] for m in client.get("/api/models", params={"sort": "likes"}).json()] == ["alice/m", "alice/n"]
    assert rows_of(hub, bob_id) == {"Token": 0, "WebSession": 0, "Membership": 0, "RepoLike": 0}
    assert client.get("/api/whoami-v2", headers=auth(other_user.token)).status_code == 401
    assert client.get("/api/whoami-v2").status_code == 401  # the session cookie is gone with him
    members = client.get("/api/hubstead/admin/orgs/acme/members", headers=auth(root.token)).json()
    assert [m["user"] for m in members] == ["alice"]


def test_a_name_of_a_deleted_user_can_be_taken_again_without_their_likes(client, hub, root, user, other_user):
    client.post("/api/repos/create", json={"name": "m"}, headers=auth(user.token))
    client.post("/api/models/alice/m/like", headers=auth(other_user.token))
    client.delete("/api/hubstead/admin/users/bob", headers=auth(root.token))

    again = make_user(hub, "bob")

    assert client.get("/api/users/bob/likes", headers=auth(again.token)).json() == []
    assert client.get("/api/models/alice/m").json()["likes"] == 0


# --- audit retention ----------------------------------------------------------------------------------------


def add_events(hub: Any, ages_in_days: list[int]) -> None:
    now = utcnow()
    with hub.sessions.begin() as session:
        for age in ages_in_days:
            session.add(
                AuditEvent(
                    created_at=now - timedelta(days=age, minutes=1), action="test.old", target_type="user", target="x"
                )
            )


def ages(hub: Any) -> list[int]:
    now = utcnow()
    with hub.sessions() as session:
        times = session.scalars(select(AuditEvent.created_at).where(AuditEvent.action == "test.old"))
        return sorted((now - t).days for t in times)


def settings_with(tmp_path: Path, database_url: str, days: int) -> Settings:
    return Settings(
        data_dir=tmp_path / "hub",
        database_url=database_url,
        secret_key="k",
        audit_retention_days=days,
        rate_limit=RateLimitSettings(enabled=False),
    )


@pytest.mark.parametrize(("days", "kept"), [(30, [0, 29]), (365, [0, 29, 364]), (0, [0, 29, 364, 400])])
def test_old_audit_events_are_pruned_when_the_app_starts(tmp_path, database_url, days, kept):
    from hubstead.app import create_app
    from hubstead.hub import Hub

    settings = settings_with(tmp_path, database_url, days)
    hub = Hub.from_settings(settings)
    add_events(hub, [0, 29, 364, 400])

    with TestClient(create_app(settings, hub)):
        deadline = time.monotonic() + 20
        while ages(hub) != kept and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ages(hub) == kept
