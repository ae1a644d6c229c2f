"""Commits made in the browser (uploaded files, an edited card) through the same services as the API: the
preupload decision (LFS or not), LFS objects stored with their hash checked, then one NDJSON commit."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from hubstead.datasets.tasks import request_conversion
from hubstead.errors import InvalidInputError
from hubstead.repos.commits import CommitResult
from hubstead.repos.models import Repo
from hubstead.repos.naming import validate_path_in_repo
from hubstead.web.context import WebContext

CHUNK = 1024 * 1024
SAMPLE = 512


@dataclass(frozen=True)
class NewFile:
    path: str
    content: UploadFile | bytes

    async def read(self, n: int = -1) -> bytes:
        if isinstance(self.content, bytes):
            return self.content if n < 0 else self.content[:n]
        await self.content.seek(0)
        return await self.content.read(n)

    async def chunks(self) -> AsyncIterator[bytes]:
        if isinstance(self.content, bytes):
            yield self.content
            return
        await self.content.seek(0)
        while chunk := await self.content.read(CHUNK):
            yield chunk

    async def size_and_sha256(self) -> tuple[int, str]:
        hasher, size = hashlib.sha256(), 0
        async for chunk in self.chunks():
            hasher.update(chunk)
            size += len(chunk)
        return size, hasher.hexdigest()


def _line(key: str, value: dict[str, Any]) -> bytes:
    return json.dumps({"key": key, "value": value}).encode()


def _link(ctx: WebContext, repo: Repo, oid: str, size: int) -> None:
    """Record the object for the repo and queue its conversion to Xet, in the page's unit of work (as an upload
    through the LFS API does)."""
    ctx.lfs.link(repo.id, oid, size)
    ctx.hub.convert_to_xet(ctx.db, oid, repo.id)


async def commit_files(
    ctx: WebContext,
    repo: Repo,
    branch: str,
    files: list[NewFile],
    summary: str,
    description: str = "",
    parent_commit: str | None = None,
) -> CommitResult:
    """One commit adding or replacing ``files`` on ``branch``; the caller has checked write access."""
    if not files:
        raise InvalidInputError("Choose at least one file")
    if len({f.path for f in files}) != len(files):
        raise InvalidInputError("Two files would have the same path")
    for f in files:
        validate_path_in_repo(f.path)
    sized = [(f, *(await f.size_and_sha256())) for f in files]
    body = {
        "files": [
            {"path": f.path, "size": size, "sample": base64.b64encode(await f.read(SAMPLE)).decode()}
            for f, size, _ in sized
        ]
    }
    plan = await run_in_threadpool(ctx.commits.preupload, repo, branch, body)
    modes = {item["path"]: item["uploadMode"] for item in plan}
    header: dict[str, Any] = {"summary": summary.strip() or "Upload files", "description": description}
    if parent_commit:
        header["parentCommit"] = parent_commit
    lines = [_line("header", header)]
    for f, size, oid in sized:
        if modes.get(f.path) == "lfs":
            await ctx.lfs.receive(oid, size, f.chunks())
            await run_in_threadpool(_link, ctx, repo, oid, size)
            lines.append(_line("lfsFile", {"path": f.path, "algo": "sha256", "oid": oid, "size": size}))
        else:
            content = base64.b64encode(await f.read()).decode()
            lines.append(_line("file", {"path": f.path, "content": content, "encoding": "base64"}))
    assert ctx.actor.account is not None
    result = await run_in_threadpool(ctx.commits.commit, repo, ctx.actor, branch, lines)
    await run_in_threadpool(ctx.scans.request_scan, repo.id, result.sha)  # once the page's unit of work commits
    request_conversion(ctx.hub.jobs, ctx.hub.settings, ctx.db, repo, result.sha)
    return result
