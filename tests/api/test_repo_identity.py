"""What the hub hands out for a repo (CAS tokens, signed LFS URLs) names that repo itself, by id and uid, and
dies with it: after a delete it opens neither a new repo of the same name nor one that got the same id (SQLite
reused ids before they were AUTOINCREMENT). DESIGN.md, security invariants; issue 13, defect 4."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from sqlalchemy import select

from hubstead.repos.models import Repo
from hubstead.xet import hashing
from tests.api._support import LFS_CONTENT, LFS_OID, auth
from tests.api.test_xet_cas import CAS, make_upload, put_shard, put_xorb, read_token, write_token

OLD = "alice/cas"
LFS_JSON = {"accept": "application/vnd.git-lfs+json", "content-type": "application/vnd.git-lfs+json"}


@pytest.fixture
def client(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=30) as c:
        yield c


def _repo_row(hub: Any, repo_id: str) -> tuple[int, str]:
    namespace, name = repo_id.split("/")
    with hub.sessions() as session:
        row = session.execute(select(Repo.id, Repo.uid).where(Repo.namespace == namespace, Repo.name == name)).one()
    return int(row.id), str(row.uid)


def _successor(live_server: str, user: Any, other_user: Any, which: str) -> tuple[str, str]:
    """The repo created right after OLD was deleted, and its owner's hub token: OLD's own name again, or a
    private repo of another user (on SQLite without AUTOINCREMENT, it got OLD's id)."""
    repo_id, token = (OLD, user.token) if which == "same-name" else ("bob/secret", other_user.token)
    HfApi(endpoint=live_server, token=token).create_repo(repo_id, private=True)
    return repo_id, token


@pytest.mark.parametrize("which", ["same-name", "another-owner"])
def test_cas_tokens_of_a_deleted_repo_open_nothing_created_after_it(
    client: httpx.Client, live_server: str, hub: Any, user: Any, other_user: Any, which: str
) -> None:
    api = HfApi(endpoint=live_server, token=user.token)
    api.create_repo(OLD)
    old_pk, old_uid = _repo_row(hub, OLD)
    old_writer, old_reader = write_token(client, user.token, OLD), read_token(client, user.token, OLD)
    api.delete_repo(OLD)

    new_id, new_token = _successor(live_server, user, other_user, which)
    new_pk, new_uid = _repo_row(hub, new_id)
    assert new_uid != old_uid
    writer = write_token(client, new_token, new_id)
    secret = make_upload(seed=b"the successor's own file")
    assert put_xorb(client, writer, secret).status_code == 200
    assert put_shard(client, writer, secret.shard()).status_code == 200
    file_id = hashing.hash_to_hex(secret.file_hash)
    assert client.get(f"{CAS}/v1/reconstructions/{file_id}", headers=auth(writer)).status_code == 200

    for version in (1, 2):  # the old read token reads nothing of the new repo
        stale = client.get(f"{CAS}/v{version}/reconstructions/{file_id}", headers=auth(old_reader))
        assert stale.status_code == 401, stale.text
    assert client.get(f"{CAS}/v1/chunks/default/{'0' * 64}", headers=auth(old_reader)).status_code == 401
    planted = make_upload(seed=b"planted by the old token")  # and the old write token writes nothing to it
    assert put_xorb(client, old_writer, planted).status_code == 401
    assert put_shard(client, old_writer, planted.shard()).status_code == 401
    assert put_shard(client, writer, planted.shard()).status_code == 400  # its xorb was never stored
    assert new_pk > old_pk  # ids are never reused


@pytest.mark.parametrize("which", ["same-name", "another-owner"])
def test_signed_lfs_urls_of_a_deleted_repo_reach_nothing_created_after_it(
    client: httpx.Client, live_server: str, hub: Any, user: Any, other_user: Any, which: str
) -> None:
    api = HfApi(endpoint=live_server, token=user.token)
    api.create_repo(OLD)

    def batch(repo_id: str, token: str, operation: str) -> dict[str, Any]:
        body = {"operation": operation, "objects": [{"oid": LFS_OID, "size": len(LFS_CONTENT)}]}
        response = client.post(f"/{repo_id}.git/info/lfs/objects/batch", json=body, headers=auth(token) | LFS_JSON)
        assert response.status_code == 200, response.text
        item: dict[str, Any] = response.json()["objects"][0]
        return item

    upload_href = batch(OLD, user.token, "upload")["actions"]["upload"]["href"]
    assert client.put(upload_href, content=LFS_CONTENT).status_code == 200
    download_href = batch(OLD, user.token, "download")["actions"]["download"]["href"]
    assert client.get(download_href).content == LFS_CONTENT
    api.delete_repo(OLD)

    new_id, new_token = _successor(live_server, user, other_user, which)
    refused = client.put(upload_href, content=LFS_CONTENT)
    assert refused.status_code == 404, refused.text
    assert client.get(download_href).status_code == 404
    assert "error" in batch(new_id, new_token, "download")  # the new repo was given nothing
