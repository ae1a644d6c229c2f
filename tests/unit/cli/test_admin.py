"""``hubstead migrate`` and ``hubstead admin ...``, run as the installed console script, as scripts do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from hubstead.accounts.models import AccountType, OrgRole, TokenRole
from hubstead.accounts.services import AccountService
from hubstead.config import Settings
from hubstead.errors import AccountNotFoundError, AuthenticationError
from hubstead.hub import Hub

HUBSTEAD = shutil.which("hubstead", path=str(Path(sys.executable).parent))
PASSWORD = "correct horse battery staple"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "hub"


def hubstead(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert HUBSTEAD is not None, "the hubstead console script is not installed next to this Python"
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUBSTEAD_")}
    return subprocess.run(
        [HUBSTEAD, "--data-dir", str(data_dir), *args],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


def assert_cli_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@contextmanager
def accounts(data_dir: Path) -> Iterator[AccountService]:
    """The accounts of the hub in ``data_dir``, as the server would see them."""
    hub = Hub.from_settings(Settings(data_dir=data_dir, database_url=None))
    try:
        with hub.sessions.begin() as session:
            yield AccountService(session)
    finally:
        hub.close()


# --- migrate ------------------------------------------------------------------------------------


def test_migrate_creates_the_database_in_the_data_dir(data_dir: Path) -> None:
    result = ok(hubstead(data_dir, "migrate"))

    engine = create_engine(f"sqlite:///{data_dir / 'hubstead.db'}")
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"accounts", "memberships", "tokens", "repos", "alembic_version"} <= tables
    assert "up to date" in result.stderr


def test_migrate_twice_is_harmless(data_dir: Path) -> None:
    ok(hubstead(data_dir, "migrate"))

    ok(hubstead(data_dir, "migrate"))


# --- users --------------------------------------------------------------------------------------


def test_create_user_makes_a_plain_user_without_password(data_dir: Path) -> None:
    result = ok(hubstead(data_dir, "admin", "create-user", "alice", "--email", "alice@example.org"))

    assert result.stdout == ""
    with accounts(data_dir) as service:
        user = service.get_user("alice")
        assert (user.type, user.is_admin, user.email, user.password_hash) == (
            AccountType.USER,
            False,
            "alice@example.org",
            None,
        )


def test_create_user_admin_flag_makes_a_site_admin(data_dir: Path) -> None:
    ok(hubstead(data_dir, "admin", "create-user", "root", "--admin"))

    with accounts(data_dir) as service:
        assert service.get_user("root").is_admin


@pytest.mark.parametrize("line_end", ["\n", "\r\n", ""])
def test_password_is_read_from_stdin(data_dir: Path, line_end: str) -> None:
    ok(hubstead(data_dir, "admin", "create-user", "alice", "--password-stdin", stdin=PASSWORD + line_end))

    with accounts(data_dir) as service:
        assert service.verify_password("alice", PASSWORD).name == "alice"
        with pytest.raises(AuthenticationError):
            service.verify_password("alice", PASSWORD + "!")


def test_password_stdin_without_a_password_fails(data_dir: Path) -> None:
    result = hubstead(data_dir, "admin", "create-user", "alice", "--password-stdin", stdin="\n")

    assert_cli_error(result, "password")
    with accounts(data_dir) as service, pytest.raises(AccountNotFoundError):
        service.get_user("alice")


def test_too_short_password_fails(data_dir: Path) -> None:
    result = hubstead(data_dir, "admin", "create-user", "alice", "--password-stdin", stdin="short\n")

    assert_cli_error(result, "8 characters")


def test_duplicate_user_fails(data_dir: Path) -> None:
    ok(hubstead(data_dir, "admin", "create-user", "alice"))

    assert_cli_error(hubstead(data_dir, "admin", "create-user", "Alice"), "Alice", "taken")


@pytest.mark.parametrize("name", ["bad name", "dash-", "api"])
def test_invalid_or_reserved_user_name_fails(data_dir: Path, name: str) -> None:
    assert_cli_error(hubstead(data_dir, "admin", "create-user", name))


# --- tokens -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "may_write"), [("read", False), ("write", True)])
def test_create_token_prints_only_a_working_token(data_dir: Path, role: str, may_write: bool) -> None:
    ok(hubstead(data_dir, "admin", "create-user", "alice"))

    result = ok(hubstead(data_dir, "admin", "create-token", "alice", "--role", role))

    lines = result.stdout.splitlines()
    assert len(lines) == 1
    token = lines[0]
    assert token.startswith("hf_")
    assert token == token.strip()
    with accounts(data_dir) as service:
        actor = service.actor_for_token(token)
        assert actor.account is not None
        assert actor.account.name == "alice"
        assert actor.token is not None
        assert actor.token.role == TokenRole(role)
        assert actor.may_write_at_all is may_write


def test_each_token_is_new(data_dir: Path) -> None:
    ok(hubstead(data_dir, "admin", "create-user", "alice"))

    first = ok(hubstead(data_dir, "admin", "create-token", "alice")).stdout
    second = ok(hubstead(data_dir, "admin", "create-token", "alice")).stdout

    assert first != second


def test_token_for_an_unknown_user_fails(data_dir: Path) -> None:
    ok(hubstead(data_dir, "migrate"))

    assert_cli_error(hubstead(data_dir, "admin", "create-token", "nobody"), "nobody")


def test_token_for_an_organization_fails(data_dir: Path) -> None:
    ok(hubstead(data_dir, "admin", "create-org", "acme"))

    assert_cli_error(hubstead(data_dir, "admin", "create-token", "acme"), "acme")


def test_token_with_an_unknown_role_is_a_usage_error(data_dir: Path) -> None:
    ok(hubstead(data_dir, "admin", "create-user", "alice"))

    result = hubstead(data_dir, "admin", "create-token", "alice", "--role", "admin")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "invalid choice" in result.stderr


# --- organizations ------------------------------------------------------------------------------


def test_create_org_with_members(data_dir: Path) -> None:
    for name in ("alice", "bob", "carol"):
        ok(hubstead(data_dir, "admin", "create-user", name))

    ok(
        hubstead(
            data_dir,
            "admin",
            "create-org",
            "acme",
            "--member",
            "alice:admin",
            "--member",
            "bob:write",
            "--member",
            "carol:read",
        )
    )

    with accounts(data_dir) as service:
        assert service.get_org("acme").type == AccountType.ORG
        roles = {
            name: service.actor_for_account(service.get_user(name)).org_roles for name in ("alice", "bob", "carol")
        }
    assert roles == {"alice": {"acme": OrgRole.ADMIN}, "bob": {"acme": OrgRole.WRITE}, "carol": {"acme": OrgRole.READ}}


def test_create_org_without_members(data_dir: Path) -> None:
    ok(hubstead(data_dir, "admin", "create-org", "acme", "--fullname", "Acme Corp"))

    with accounts(data_dir) as service:
        assert service.get_org("acme").fullname == "Acme Corp"


@pytest.mark.parametrize(
    ("member", "fragment"), [("alice:owner", "owner"), ("nobody:read", "nobody")], ids=["bad-role", "unknown-user"]
)
def test_create_org_with_a_bad_member_fails_and_creates_nothing(data_dir: Path, member: str, fragment: str) -> None:
    ok(hubstead(data_dir, "admin", "create-user", "alice"))

    assert_cli_error(hubstead(data_dir, "admin", "create-org", "acme", "--member", member), fragment)
    with accounts(data_dir) as service:
        assert service.find_account("acme") is None


def test_org_name_taken_by_a_user_fails(data_dir: Path) -> None:
    ok(hubstead(data_dir, "admin", "create-user", "alice"))

    assert_cli_error(hubstead(data_dir, "admin", "create-org", "alice"), "taken")


def test_admin_without_a_command_is_a_usage_error(data_dir: Path) -> None:
    result = hubstead(data_dir, "admin")

    assert result.returncode == 2
    assert "usage:" in result.stderr
