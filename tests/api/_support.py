"""Helpers shared by the API tests: build repo state through the real API, and snapshot it so a test can
prove that a refused request changed nothing."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
from huggingface_hub import CommitOperationAdd, HfApi

SMALL = b"hello world\n"
LFS_CONTENT = b"\x00weights" * 64
LFS_OID = hashlib.sha256(LFS_CONTENT).hexdigest()
API_TYPES = {"model": "models", "dataset": "datasets", "space": "spaces"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def auth(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


def seed_repo(live_server: str, token: str, repo_id: str, *, repo_type: str = "model", private: bool = False) -> str:
    """Create ``repo_id`` holding a small file, a nested file and an LFS file, a branch ``keep`` and a tag
    ``v0``; returns the head sha of ``main``."""
    api = HfApi(endpoint=live_server, token=token)
    api.create_repo(repo_id, repo_type=repo_type, private=private)
    info = api.create_commit(
        repo_id,
        [
            CommitOperationAdd("hello.txt", SMALL),
            CommitOperationAdd("folder/nested.txt", b"nested\n"),
            CommitOperationAdd("weights.bin", LFS_CONTENT),
        ],
        commit_message="seed",
        repo_type=repo_type,
    )
    api.create_branch(repo_id, branch="keep", repo_type=repo_type)
    api.create_tag(repo_id, tag="v0", repo_type=repo_type)
    return info.oid


def ndjson(*lines: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def header_line(summary: str = "change", **extra: Any) -> dict[str, Any]:
    return {"key": "header", "value": {"summary": summary, "description": ""} | extra}


def file_line(path: str, content: bytes = b"new\n") -> dict[str, Any]:
    return {"key": "file", "value": {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"}}


def commit(client: httpx.Client, repo_id: str, body: bytes, token: str | None, *, repo_type: str = "model"):
    return client.post(
        f"/api/{API_TYPES[repo_type]}/{repo_id}/commit/main",
        content=body,
        headers={"content-type": "application/x-ndjson"} | auth(token),
    )


def blob_files(hub: Any) -> set[str]:
    """Every file the hub's blob store holds, temp files included (conftest builds a LocalBlobStore), once the
    background jobs (conversions of LFS uploads to Xet) are done."""
    hub.wait_for_jobs(120)
    root = Path(hub.blobs.root)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def snapshot(client: httpx.Client, hub: Any, repo_id: str, token: str, *, repo_type: str = "model") -> dict[str, Any]:
    """Everything a refused request must leave as it was, read through the API as the owner, once the background
    jobs that earlier requests queued are done (a dataset's conversion adds refs/convert/parquet)."""
    hub.wait_for_jobs(120)
    api = f"/api/{API_TYPES[repo_type]}/{repo_id}"
    info = client.get(api, params={"blobs": "true"}, headers=auth(token))
    assert info.status_code == 200, info.text
    refs = client.get(f"{api}/refs", headers=auth(token))
    assert refs.status_code == 200, refs.text
    body = info.json()
    return {
        "sha": body["sha"],
        "private": body["private"],
        "gated": body["gated"],
        "files": sorted((s["rfilename"], s["blobId"]) for s in body["siblings"]),
        "refs": refs.json(),
        "blobs": blob_files(hub),
    }
