"""Fifty writers on one branch at once, through the official client: without ``parent_commit`` every commit
lands (no lost update, no 409, no 500); with the same ``parent_commit`` exactly one lands and the others get 412."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

WRITERS = 50
REPO = "alice/busy"


def _commit(api: HfApi, n: int, parent: str | None) -> tuple[str, str | int]:
    operations = [CommitOperationAdd(f"writers/{n:02d}.txt", f"writer {n}\n".encode())]
    if n % 5 == 0:  # some with an LFS file too
        operations.append(CommitOperationAdd(f"writers/{n:02d}.bin", bytes([n]) * 2048 + b"\x00"))
    try:
        return "ok", api.create_commit(REPO, operations, commit_message=f"writer {n}", parent_commit=parent).oid
    except HfHubHTTPError as exc:
        return "error", exc.response.status_code if exc.response is not None else 0


@pytest.fixture
def api(live_server: str, user: Any) -> HfApi:
    api = HfApi(endpoint=live_server, token=user.token)
    api.create_repo(REPO)
    return api


def _race(api: HfApi, parent: str | None) -> list[tuple[str, str | int]]:
    with ThreadPoolExecutor(WRITERS) as pool:
        return list(pool.map(lambda n: _commit(api, n, parent), range(WRITERS)))


@pytest.mark.slow
def test_fifty_writers_without_parent_commit_all_land(api: HfApi) -> None:
    base = api.model_info(REPO).sha

    outcomes = _race(api, None)

    assert [o for o in outcomes if o[0] != "ok"] == []
    files = set(api.list_repo_files(REPO))
    assert {f"writers/{n:02d}.txt" for n in range(WRITERS)} <= files
    assert {f"writers/{n:02d}.bin" for n in range(0, WRITERS, 5)} <= files
    history = [c.commit_id for c in api.list_repo_commits(REPO)]
    assert {sha for _, sha in outcomes} <= set(history)
    assert len(history) == WRITERS + 1  # every commit on top of another, none replaced
    assert history[-1] == base
    assert api.model_info(REPO).sha == history[0]


@pytest.mark.slow
def test_fifty_writers_with_the_same_parent_commit_one_lands_the_rest_get_412(api: HfApi) -> None:
    base = api.model_info(REPO).sha

    outcomes = _race(api, base)

    landed = [sha for status, sha in outcomes if status == "ok"]
    assert len(landed) == 1
    assert sorted({code for status, code in outcomes if status == "error"}) == [412]
    assert [c.commit_id for c in api.list_repo_commits(REPO)] == [landed[0], base]
