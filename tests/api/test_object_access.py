"""A repo serves only the large objects given to it: knowing an object's sha256 (which the public tree of a gated
repo lists) reads nothing, claims nothing and learns nothing about it (DESIGN.md, security invariants)."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pygit2
import pytest
from huggingface_hub import HfApi

from hubstead.repos.lfs_pointer import LfsPointer
from hubstead.repos.models import RepoType
from hubstead.repos.naming import RepoRef
from tests.api._support import LFS_CONTENT, LFS_OID, auth, commit, file_line, header_line, ndjson, seed_repo
from tests.api.test_xet_cas import make_upload, put_shard, put_xorb, write_token

VICTIM = "alice/vault"
POINTER = LfsPointer(LFS_OID, len(LFS_CONTENT)).render()


@pytest.fixture
def client(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=30) as c:
        yield c


@pytest.fixture(params=["gated", "private"])
def victim(request: pytest.FixtureRequest, client: httpx.Client, live_server: str, user: Any) -> str:
    """alice's repo holding LFS_CONTENT; a gated one lists its oid to everyone."""
    seed_repo(live_server, user.token, VICTIM, private=request.param == "private")
    if request.param == "gated":
        response = client.put(f"/api/models/{VICTIM}/settings", json={"gated": "manual"}, headers=auth(user.token))
        assert response.status_code == 200, response.text
        tree = client.get(f"/api/models/{VICTIM}/tree/main").json()
        assert {e["lfs"]["oid"] for e in tree if "lfs" in e} == {LFS_OID}  # what an outsider learns
    return VICTIM


@pytest.fixture
def loot(client: httpx.Client, other_user: Any) -> str:
    response = client.post("/api/repos/create", json={"name": "loot"}, headers=auth(other_user.token))
    assert response.status_code == 200, response.text
    return "bob/loot"


def test_a_pointer_committed_as_a_regular_file_is_refused(
    client: httpx.Client, victim: str, loot: str, other_user: Any
) -> None:
    response = commit(client, loot, ndjson(header_line("innocent"), file_line("w.bin", POINTER)), other_user.token)

    assert response.status_code == 422, response.text
    assert "never uploaded to this repository" in response.json()["error"]
    assert str(len(LFS_CONTENT)) not in response.json()["error"]  # nothing said about the object
    assert client.get(f"/{loot}/resolve/main/w.bin", headers=auth(other_user.token)).status_code == 404


def test_a_pointer_as_a_regular_file_names_only_the_repos_own_objects_with_their_size(
    client: httpx.Client, live_server: str, user: Any
) -> None:
    seed_repo(live_server, user.token, VICTIM)
    copy = commit(client, VICTIM, ndjson(header_line(), file_line("copy.bin", POINTER)), user.token)
    assert copy.status_code == 200, copy.text
    assert client.get(f"/{VICTIM}/resolve/main/copy.bin").content == LFS_CONTENT

    lying = LfsPointer(LFS_OID, len(LFS_CONTENT) + 1).render()
    response = commit(client, VICTIM, ndjson(header_line(), file_line("lie.bin", lying)), user.token)
    assert response.status_code == 400, response.text
    assert "size" in response.json()["error"]


def test_a_pointer_that_reached_git_unchecked_serves_nothing(
    client: httpx.Client, hub: Any, victim: str, loot: str, other_user: Any
) -> None:
    # as a repo written before commits checked pointer text would hold it
    git = hub.git.open(RepoRef(RepoType.MODEL, "bob", "loot").storage_key)
    tip = git.ref_target("refs/heads/main")
    from hubstead.gitstore import Change

    tree = git.build_tree(tip, [Change("w.bin", git.write_blob(POINTER))])
    git.update_ref("refs/heads/main", git.write_commit(tree, [tip], "sneak", "bob", "bob@example.org"), tip)

    response = client.get(f"/{loot}/resolve/main/w.bin", headers=auth(other_user.token))

    assert response.status_code == 404, response.content[:100]
    assert LFS_CONTENT not in response.content
    batch = client.post(
        f"/{loot}.git/info/lfs/objects/batch",
        json={"operation": "download", "objects": [{"oid": LFS_OID, "size": len(LFS_CONTENT)}]},
        headers=auth(other_user.token) | {"accept": "application/vnd.git-lfs+json"},
    )
    assert batch.json()["objects"][0]["error"]["code"] == 404


def _pkt(line: bytes) -> bytes:
    return f"{len(line) + 4:04x}".encode() + line


def test_a_push_cannot_name_a_pointer_it_left_out_of_its_pack(
    client: httpx.Client, hub: Any, live_server: str, tmp_path: Path, victim: str, loot: str, other_user: Any
) -> None:
    """A pack need not carry a blob the server already holds unreferenced: the check follows the pushed trees,
    not the pushed objects."""
    server = hub.git.open(RepoRef(RepoType.MODEL, "bob", "loot").storage_key)
    tip = server.ref_target("refs/heads/main")
    blob = server.write_blob(POINTER)  # loose and unreferenced in bob's repo
    scratch = pygit2.init_repository(str(tmp_path / "scratch.git"), bare=True)
    assert str(scratch.create_blob(POINTER)) == blob
    builder = scratch.TreeBuilder()
    builder.insert("w.bin", pygit2.Oid(hex=blob), pygit2.enums.FileMode.BLOB)
    tree = builder.write()
    raw = f"tree {tree}\nparent {tip}\nauthor b <b@x> 0 +0000\ncommitter b <b@x> 0 +0000\n\nsneak\n"
    new = str(scratch.odb.write(pygit2.enums.ObjectType.COMMIT, raw.encode()))
    pack = subprocess.run(
        ["git", f"--git-dir={tmp_path / 'scratch.git'}", "pack-objects", "--stdout"],
        input=f"{new}\n{tree}\n".encode(),
        capture_output=True,
        check=True,
    ).stdout
    body = _pkt(f"{tip} {new} refs/heads/main\0report-status side-band-64k\n".encode()) + b"0000" + pack
    basic = base64.b64encode(f"bob:{other_user.token}".encode()).decode()

    response = client.post(
        f"/{loot}/git-receive-pack",
        content=body,
        headers={"content-type": "application/x-git-receive-pack-request", "authorization": f"Basic {basic}"},
    )

    assert b"ng refs/heads/main" in response.content, response.content
    assert b"never uploaded to this repository" in response.content
    assert server.ref_target("refs/heads/main") == tip


def test_a_xet_shard_claiming_anothers_sha256_squats_nothing_and_learns_no_size(
    client: httpx.Client, live_server: str, user: Any, loot: str, other_user: Any
) -> None:
    content = b"\x00the real weights" * 1000
    sha = hashlib.sha256(content).hexdigest()
    bob = write_token(client, other_user.token, loot)

    def claim(seed: bytes) -> httpx.Response:
        garbage = make_upload(chunks=2, size=4096, seed=seed)
        put_xorb(client, bob, garbage)
        entry = garbage.entry()
        lie = type(entry)(entry.file_hash, entry.terms, entry.verification, sha)
        return put_shard(client, bob, garbage.shard(lie))

    assert claim(b"before").status_code == 200  # bob's label for his own bytes, in his own repo
    api = HfApi(endpoint=live_server, token=user.token)
    api.create_repo(VICTIM)
    api.upload_file(path_or_fileobj=content, path_in_repo="w.bin", repo_id=VICTIM)  # not blocked by bob's claim
    assert client.get(f"/{VICTIM}/resolve/main/w.bin", headers=auth(user.token)).content == content

    after = claim(b"after")  # the object is stored now: the answer says nothing of it
    assert after.status_code == 200, after.text
    assert str(len(content)) not in after.text
    pointer = {"path": "w.bin", "algo": "sha256", "oid": sha, "size": len(content)}
    refused = commit(client, loot, ndjson(header_line(), {"key": "lfsFile", "value": pointer}), other_user.token)
    assert refused.status_code == 400, refused.text  # his label has his bytes' size, not the real one
    pointer["size"] = 2 * 4096
    assert commit(
        client, loot, ndjson(header_line(), {"key": "lfsFile", "value": pointer}), other_user.token
    ).is_success
    served = client.get(f"/{loot}/resolve/main/w.bin", headers=auth(other_user.token))
    assert served.status_code == 200
    assert served.content != content  # his own bytes under the label, never the object stored for alice


def test_a_failed_lfs_upload_of_other_bytes_leaves_nothing_in_the_way(
    client: httpx.Client, live_server: str, user: Any, loot: str, other_user: Any
) -> None:
    content = b"\x00the real weights" * 1000
    sha = hashlib.sha256(content).hexdigest()
    batch = client.post(
        f"/{loot}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": sha, "size": 10}]},
        headers=auth(other_user.token) | {"accept": "application/vnd.git-lfs+json"},
    )
    href = batch.json()["objects"][0]["actions"]["upload"]["href"]
    assert client.put(href, content=b"0123456789").status_code == 400

    api = HfApi(endpoint=live_server, token=user.token)
    api.create_repo(VICTIM)
    api.upload_file(path_or_fileobj=content, path_in_repo="w.bin", repo_id=VICTIM)
    assert client.get(f"/{VICTIM}/resolve/main/w.bin", headers=auth(user.token)).content == content
