"""``hubstead admin reset-password`` and ``hubstead admin audit-prune``, on every database backend (the
database comes from ``HUBSTEAD_DATABASE_URL``, as on a server)."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hubstead.accounts.models import TokenRole
from hubstead.accounts.services import AccountService
from hubstead.accounts.sessions import SessionService
from hubstead.audit.models import AuditEvent
from hubstead.cli.main import main
from hubstead.config import Settings
from hubstead.db.base import utcnow
from hubstead.errors import AuthenticationError
from hubstead.hub import Hub
from tests.unit.cli.test_admin_accounts import Result, assert_cli_error, ok

OLD = "the old password"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "hub"


@pytest.fixture
def hubstead(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, database_url: str, data_dir: Path):
    for key in [k for k in os.environ if k.startswith("HUBSTEAD_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HUBSTEAD_DATABASE_URL", database_url)

    def run(*args: str, stdin: str | None = None) -> Result:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(["--data-dir", str(data_dir), *args])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


@pytest.fixture
def hub(hubstead: Any, data_dir: Path) -> Any:
    hub = Hub.from_settings(Settings(data_dir=data_dir))
    yield hub
    hub.close()


def test_reset_password_from_stdin_ends_sessions_and_keeps_tokens(hubstead, hub) -> None:
    with hub.sessions.begin() as session:
        accounts = AccountService(session)
        alice = accounts.create_user("alice", password=OLD)
        _, token = accounts.create_token(alice, "t", TokenRole.WRITE)
        secret = SessionService(session).create_session(alice)

    result = ok(hubstead("admin", "reset-password", "alice", "--password-stdin", stdin="a new password\n"))

    assert result.stdout == ""
    assert "ended 1 website session" in result.stderr
    with hub.sessions() as session:
        accounts = AccountService(session)
        assert accounts.verify_password("alice", "a new password").name == "alice"
        with pytest.raises(AuthenticationError):
            accounts.verify_password("alice", OLD)
        assert SessionService(session).find_session(secret) is None
        assert accounts.actor_for_token(token).account is not None
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.password.reset")).all()
        assert [(e.actor, e.target, e.details) for e in events] == [(None, "alice", {"sessionsEnded": 1})]


def test_reset_password_generates_and_prints_one(hubstead, hub) -> None:
    ok(hubstead("admin", "create-user", "alice"))

    generated = ok(hubstead("admin", "reset-password", "alice")).stdout.strip()

    assert len(generated) >= 16
    with hub.sessions() as session:
        assert AccountService(session).verify_password("alice", generated).name == "alice"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["nobody"], None, "No user"),
        (["alice", "--password-stdin"], "short\n", "8 to 1024"),
        (["alice", "--password-stdin"], "", "no password"),
    ],
)
def test_reset_password_refuses_bad_input(hubstead, hub, args, stdin, message) -> None:
    ok(hubstead("admin", "create-user", "alice"))

    assert_cli_error(hubstead("admin", "reset-password", *args, stdin=stdin), message)


def add_events(hub: Any, ages: list[int]) -> None:
    now = utcnow()
    with hub.sessions.begin() as session:
        for age in ages:
            created = now - timedelta(days=age, minutes=1)
            session.add(AuditEvent(created_at=created, action="test.old", target_type="user", target="x"))


def remaining(hub: Any) -> list[int]:
    now = utcnow()
    with hub.sessions() as session:
        times = session.scalars(select(AuditEvent.created_at).where(AuditEvent.action == "test.old"))
        return sorted((now - t).days for t in times)


def test_audit_prune_keeps_the_retention_period(hubstead, hub, monkeypatch) -> None:
    add_events(hub, [1, 100, 364, 366, 1000])

    default = ok(hubstead("admin", "audit-prune"))
    assert remaining(hub) == [1, 100, 364]
    assert "deleted 2 audit event(s) older than 365 days" in default.stderr

    ok(hubstead("admin", "audit-prune", "--days", "30"))
    assert remaining(hub) == [1]

    monkeypatch.setenv("HUBSTEAD_AUDIT_RETENTION_DAYS", "0")
    kept = ok(hubstead("admin", "audit-prune"))
    assert "nothing pruned" in kept.stderr
    assert remaining(hub) == [1]
    assert_cli_error(hubstead("admin", "audit-prune", "--days", "0"), "at least 1 day")
