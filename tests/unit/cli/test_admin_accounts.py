"""``hubstead admin`` commands that manage accounts and export the audit log. They run in this process
(``main(argv)``, as the console script does; test_admin.py runs the installed script itself): a new
interpreter per command would cost seconds each."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from hubstead.accounts.services import AccountService
from hubstead.cli.main import main
from hubstead.config import Settings
from hubstead.errors import AuthenticationError
from hubstead.hub import Hub


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "hub"


@pytest.fixture
def hubstead(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    for key in [k for k in os.environ if k.startswith("HUBSTEAD_")]:
        monkeypatch.delenv(key)

    def run(data_dir: Path, *args: str) -> Result:
        capsys.readouterr()
        code = main(["--data-dir", str(data_dir), *args])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


def ok(result: Result) -> Result:
    assert result.returncode == 0, result.stderr
    return result


def assert_cli_error(result: Result, *fragments: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    for fragment in fragments:
        assert fragment in result.stderr


@contextmanager
def accounts(data_dir: Path) -> Iterator[AccountService]:
    hub = Hub.from_settings(Settings(data_dir=data_dir, database_url=None))
    try:
        with hub.sessions.begin() as session:
            yield AccountService(session)
    finally:
        hub.close()


def test_users_are_listed_disabled_enabled_and_deleted(hubstead, data_dir: Path) -> None:
    ok(hubstead(data_dir, "admin", "create-user", "alice", "--email", "alice@example.org"))
    ok(hubstead(data_dir, "admin", "create-user", "root", "--admin"))
    token = ok(hubstead(data_dir, "admin", "create-token", "alice")).stdout.strip()

    ok(hubstead(data_dir, "admin", "disable-user", "alice"))

    listed = ok(hubstead(data_dir, "admin", "list-users")).stdout.splitlines()
    assert listed == ["alice\talice@example.org\tdisabled", "root\t-\tadmin"]
    with accounts(data_dir) as service, pytest.raises(AuthenticationError):
        service.actor_for_token(token)
    ok(hubstead(data_dir, "admin", "enable-user", "alice"))
    with accounts(data_dir) as service:
        assert service.actor_for_token(token).account is not None
    ok(hubstead(data_dir, "admin", "delete-user", "alice"))
    assert ok(hubstead(data_dir, "admin", "list-users")).stdout.splitlines() == ["root\t-\tadmin"]


def test_members_are_added_changed_listed_and_removed(hubstead, data_dir: Path) -> None:
    for name in ("alice", "bob"):
        ok(hubstead(data_dir, "admin", "create-user", name))
    ok(hubstead(data_dir, "admin", "create-org", "acme", "--member", "alice:admin"))

    ok(hubstead(data_dir, "admin", "add-member", "acme", "bob"))
    ok(hubstead(data_dir, "admin", "add-member", "acme", "bob", "--role", "contributor"))

    assert ok(hubstead(data_dir, "admin", "list-members", "acme")).stdout.splitlines() == [
        "alice\tadmin",
        "bob\tcontributor",
    ]
    ok(hubstead(data_dir, "admin", "remove-member", "acme", "bob"))
    assert ok(hubstead(data_dir, "admin", "list-members", "acme")).stdout.splitlines() == ["alice\tadmin"]
    assert_cli_error(hubstead(data_dir, "admin", "remove-member", "acme", "bob"), "not a member")
    assert ok(hubstead(data_dir, "admin", "list-orgs")).stdout.splitlines() == ["acme\t-\t-"]


def test_tokens_are_listed_and_revoked(hubstead, data_dir: Path) -> None:
    ok(hubstead(data_dir, "admin", "create-user", "alice"))
    token = ok(hubstead(data_dir, "admin", "create-token", "alice", "--token-name", "ci")).stdout.strip()

    rows = [line.split("\t") for line in ok(hubstead(data_dir, "admin", "list-tokens", "alice")).stdout.splitlines()]

    assert [(r[1], r[2], r[4]) for r in rows] == [("ci", "write", "-")]
    ok(hubstead(data_dir, "admin", "revoke-token", rows[0][0]))
    with accounts(data_dir) as service, pytest.raises(AuthenticationError):
        service.actor_for_token(token)
    assert ok(hubstead(data_dir, "admin", "list-tokens", "alice")).stdout == ""
    assert_cli_error(hubstead(data_dir, "admin", "revoke-token", rows[0][0]), "No token")


def test_a_fine_grained_token_gets_its_scopes(hubstead, data_dir: Path) -> None:
    ok(hubstead(data_dir, "admin", "create-user", "alice"))
    ok(hubstead(data_dir, "admin", "create-org", "acme", "--member", "alice:write"))

    token = ok(
        hubstead(
            data_dir, "admin", "create-token", "alice", "--role", "fineGrained",
            "--scope", "org:acme:repo.content.read,repo.write", "--scope", "model:alice/m:repo.content.read",
            "--global", "discussion.write", "--gated",
        )
    ).stdout.strip()  # fmt: skip

    with accounts(data_dir) as service:
        scopes = service.actor_for_token(token).scopes
        assert scopes is not None
        assert scopes.namespace_permissions("acme") == {"repo.content.read", "repo.write", "discussion.write"}
        assert scopes.repo_permissions("model", "alice", "m") == {"repo.content.read", "discussion.write"}
        assert scopes.can_read_gated_repos
    assert_cli_error(
        hubstead(data_dir, "admin", "create-token", "alice", "--role", "fineGrained", "--scope", "org:elsewhere:x"),
        "Unknown permission",
    )
    assert_cli_error(
        hubstead(data_dir, "admin", "create-token", "alice", "--scope", "org:acme:repo.write"), "fineGrained"
    )


def test_the_audit_log_is_exported_as_json_lines(hubstead, data_dir: Path, tmp_path: Path) -> None:
    ok(hubstead(data_dir, "admin", "create-user", "alice"))
    ok(hubstead(data_dir, "admin", "create-token", "alice"))
    output = tmp_path / "audit.jsonl"

    result = ok(hubstead(data_dir, "admin", "audit-export", "--action", "token", "--output", str(output)))

    events = [json.loads(line) for line in output.read_text().splitlines()]
    assert [(e["action"], e["target"]["type"], e["details"]["owner"]) for e in events] == [
        ("token.create", "token", "alice")
    ]
    assert "exported 1 event" in result.stderr
    everything = ok(hubstead(data_dir, "admin", "audit-export")).stdout.splitlines()
    assert [json.loads(line)["action"] for line in everything] == ["user.create", "token.create"]
    assert_cli_error(hubstead(data_dir, "admin", "audit-export", "--since", "yesterday"), "--since")
