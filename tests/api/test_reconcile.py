"""Git and the database move together (DESIGN.md, security invariants): a unit of work that fails after moving a
ref moves it back, a deleted repo's files go only once its row has, and what a crash left between them is
repaired before the first request (and by ``hubstead admin check``)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from hubstead.app import create_app
from hubstead.cli.main import main
from hubstead.db.outcomes import AFTER_COMMIT, ON_ROLLBACK
from hubstead.gitstore import Change
from hubstead.repos.models import RepoType
from hubstead.repos.naming import RepoRef
from tests.api._support import auth, commit, file_line, header_line, ndjson

REPO = "alice/steady"
CARD = b"---\ntags:\n- landed-by-crash\n---\n# steady\n"


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def repo(client: TestClient, user: Any) -> str:
    created = client.post("/api/repos/create", json={"name": "steady"}, headers=auth(user.token))
    assert created.status_code == 200, created.text
    return REPO


def _listed_sha(client: TestClient) -> str:
    listed = client.get("/api/models", params={"author": "alice", "full": "true"})
    return next(m["sha"] for m in listed.json() if m["id"] == REPO)


def _tagged(client: TestClient) -> list[str]:
    return [m["id"] for m in client.get("/api/models", params={"filter": "landed-by-crash"}).json()]


def _git(hub: Any, name: str = REPO) -> Any:
    namespace, repo_name = name.split("/")
    return hub.git.open(RepoRef(RepoType.MODEL, namespace, repo_name).storage_key)


def _commit_behind_the_database(hub: Any) -> str:
    """What a crash after the ref moved and before the database recorded it leaves: git's main ahead."""
    git = _git(hub)
    tip = git.ref_target("refs/heads/main")
    tree = git.build_tree(tip, [Change("README.md", git.write_blob(CARD))])
    sha = git.write_commit(tree, [tip], "landed, then the server died", "alice", "alice@example.com")
    git.update_ref("refs/heads/main", sha, tip)
    return sha


@pytest.fixture
def failing_commits(hub: Any) -> Iterator[list[int]]:
    """The database refuses to commit a unit of work that moved a ref (as a full disk or a lost connection
    would), as many times as the test asks."""
    left = [0]

    def refuse(session: Session) -> None:
        if left[0] and (session.info.get(ON_ROLLBACK) or session.info.get(AFTER_COMMIT)):
            left[0] -= 1
            raise OSError("the database could not commit")

    event.listen(hub.sessions, "before_commit", refuse)
    yield left
    event.remove(hub.sessions, "before_commit", refuse)


def test_start_up_records_what_git_has_and_the_database_missed(
    settings: Any, hub: Any, client: TestClient, repo: str
) -> None:
    before = _listed_sha(client)
    sha = _commit_behind_the_database(hub)
    assert _listed_sha(client) == before
    assert _tagged(client) == []

    with TestClient(create_app(settings)) as restarted:  # a new server process: reconciled before it serves
        assert _listed_sha(restarted) == sha
        assert _tagged(restarted) == [REPO]


def test_a_commit_the_database_fails_to_record_moves_the_ref_back(
    hub: Any, client: TestClient, repo: str, user: Any, failing_commits: list[int]
) -> None:
    before = _git(hub).ref_target("refs/heads/main")
    failing_commits[0] = 1

    failed = commit(client, repo, ndjson(header_line("lost"), file_line("a.txt", b"a")), user.token)

    assert failed.status_code == 500
    assert _git(hub).ref_target("refs/heads/main") == before
    assert _listed_sha(client) == before
    retried = commit(client, repo, ndjson(header_line("kept"), file_line("a.txt", b"a")), user.token)
    assert retried.status_code == 200, retried.text
    assert _git(hub).ref_target("refs/heads/main") == _listed_sha(client) == retried.json()["commitOid"]


def test_a_repo_is_deleted_from_disk_only_once_its_row_is(
    hub: Any, client: TestClient, repo: str, user: Any, failing_commits: list[int]
) -> None:
    path = hub.git.path_for(RepoRef(RepoType.MODEL, "alice", "steady").storage_key)
    body = {"name": "steady", "type": "model"}
    failing_commits[0] = 1

    failed = client.request("DELETE", "/api/repos/delete", json=body, headers=auth(user.token))

    assert failed.status_code == 500
    assert path.exists()
    assert client.get(f"/api/models/{repo}/tree/main").status_code == 200
    deleted = client.request("DELETE", "/api/repos/delete", json=body, headers=auth(user.token))
    assert deleted.status_code == 200, deleted.text
    assert not path.exists()


@pytest.fixture
def hubstead(settings: Any, hub: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    for key in [k for k in os.environ if k.startswith("HUBSTEAD_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HUBSTEAD_DATABASE_URL", settings.resolved_database_url)

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(["--data-dir", str(settings.data_dir), "admin", *args])
        return code, capsys.readouterr().out

    return run


def test_admin_check_reports_then_repairs(hub: Any, client: TestClient, repo: str, hubstead: Any) -> None:
    sha = _commit_behind_the_database(hub)
    hub.git.init("models/alice/deleted-mid-crash")
    old = time.time() - 2 * 3600
    os.utime(hub.git.path_for("models/alice/deleted-mid-crash"), (old, old))

    code, out = hubstead("check")
    assert code == 1
    assert f"models/{REPO}: the database lists" in out
    assert f"git's main is {sha}" in out
    assert "models/alice/deleted-mid-crash: git repository that no repo names" in out
    assert _listed_sha(client) != sha  # checking alone changes nothing

    code, out = hubstead("check", "--repair")
    assert code == 0, out
    assert _listed_sha(client) == sha
    assert _tagged(client) == [REPO]
    assert not hub.git.path_for("models/alice/deleted-mid-crash").exists()
    assert hubstead("check") == (0, "")
