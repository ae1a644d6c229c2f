"""Behaviour at configured limits: multipart LFS uploads, tree pagination, concurrent commits."""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

from hubstead.config import Settings
from tests.api._support import commit as commit_ndjson
from tests.api._support import file_line, header_line, ndjson

MiB = 1024 * 1024


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "hub",
        database_url=database_url,
        secret_key="test-secret",
        lfs_multipart_threshold=4 * MiB,
        lfs_multipart_chunk_size=1 * MiB,
        tree_page_size=7,
        commits_page_size=5,
    )


@pytest.fixture
def api(live_server: str, user) -> HfApi:
    return HfApi(endpoint=live_server, token=user.token)


def test_batch_offers_multipart_above_the_threshold(api: HfApi, live_server: str, user) -> None:
    api.create_repo("big")
    body = {
        "operation": "upload",
        "transfers": ["basic", "multipart"],
        "hash_algo": "sha256",
        "objects": [{"oid": "a" * 64, "size": 5 * MiB + 123}, {"oid": "b" * 64, "size": MiB}],
    }
    response = httpx.post(
        f"{live_server}/alice/big.git/info/lfs/objects/batch",
        json=body,
        headers={"authorization": f"Bearer {user.token}"},
    )
    assert response.status_code == 200
    big, small = response.json()["objects"]
    header = big["actions"]["upload"]["header"]
    assert header["chunk_size"] == str(MiB)
    assert sorted(int(k) for k in header if k != "chunk_size") == [1, 2, 3, 4, 5, 6]
    assert "header" not in small["actions"]["upload"]


def test_multipart_lfs_upload_round_trips(api: HfApi, live_server: str, user, hub) -> None:
    api.create_repo("big")
    data = os.urandom(5 * MiB + 123)  # 6 parts, the last one short
    api.upload_file(path_or_fileobj=data, path_in_repo="model.safetensors", repo_id="alice/big")
    info = api.get_paths_info("alice/big", ["model.safetensors"])[0]
    assert info.lfs.sha256 == hashlib.sha256(data).hexdigest()
    assert info.size == len(data)
    path = hf_hub_download("alice/big", "model.safetensors", endpoint=live_server, token=user.token)
    assert Path(path).read_bytes() == data
    leftovers = [p for p in (hub.settings.data_dir / "blobs").rglob("*") if "lfs-parts" in p.parts and p.is_file()]
    assert leftovers == []


def test_tree_listing_paginates_with_absolute_link(api: HfApi, live_server: str) -> None:
    api.create_repo("many")
    api.create_commit(
        "alice/many",
        operations=[CommitOperationAdd(f"dir{i % 3}/f{i:02d}.txt", f"{i}".encode()) for i in range(30)],
        commit_message="many files",
    )
    entries = list(api.list_repo_tree("alice/many", recursive=True))
    files = [e.path for e in entries if type(e).__name__ == "RepoFile"]
    assert len(files) == 31
    assert len(set(files)) == 31
    assert {e.path for e in entries if type(e).__name__ == "RepoFolder"} == {"dir0", "dir1", "dir2"}
    first = httpx.get(f"{live_server}/api/models/alice/many/tree/main?recursive=true&expand=false")
    link = first.headers["link"]
    assert link.startswith(f"<{live_server}/api/models/alice/many/tree/main?")
    assert "recursive=true" in link
    assert link.endswith('>; rel="next"')
    assert len(first.json()) == 7


def test_commits_listing_paginates(api: HfApi) -> None:
    api.create_repo("hist")
    for i in range(12):
        api.upload_file(
            path_or_fileobj=str(i).encode(), path_in_repo="n.txt", repo_id="alice/hist", commit_message=f"c{i}"
        )
    titles = [c.title for c in api.list_repo_commits("alice/hist")]
    assert titles == [f"c{i}" for i in reversed(range(12))] + ["initial commit"]


def test_concurrent_commits_without_parent_all_land(api: HfApi) -> None:
    api.create_repo("race")
    errors: list[BaseException] = []

    def commit(i: int) -> None:
        try:
            api.upload_file(path_or_fileobj=f"{i}".encode(), path_in_repo=f"f{i}.txt", repo_id="alice/race")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert api.list_repo_files("alice/race") == sorted([".gitattributes"] + [f"f{i}.txt" for i in range(8)])
    assert len(api.list_repo_commits("alice/race")) == 9


@pytest.mark.timeout(300)
def test_fifty_writers_on_one_branch_without_parent_all_land(api: HfApi, live_server: str, user) -> None:
    """Every lost compare-and-swap means another commit landed; with back-off, 50 racers all get through."""
    api.create_repo("crowd")
    writers = 50
    start = threading.Barrier(writers)

    def commit(i: int) -> httpx.Response:
        body = ndjson(header_line(f"writer {i}"), file_line(f"w{i}.txt", f"{i}\n".encode()))
        with httpx.Client(base_url=live_server, timeout=120) as client:
            start.wait()
            return commit_ndjson(client, "alice/crowd", body, user.token)

    with ThreadPoolExecutor(writers) as pool:
        responses = list(pool.map(commit, range(writers)))

    assert [r.status_code for r in responses if r.status_code != 200] == []
    assert api.list_repo_files("alice/crowd") == sorted([".gitattributes"] + [f"w{i}.txt" for i in range(writers)])
    titles = {c.title for c in api.list_repo_commits("alice/crowd")}
    assert titles == {f"writer {i}" for i in range(writers)} | {"initial commit"}
