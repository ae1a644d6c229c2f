"""Receive hooks that call back into the server process serving the push.

``git receive-pack`` runs with ``core.hooksPath`` pointing at a directory of tiny shell hooks that start
``hook_client.py``; the client sends the ref updates (and where git keeps the pushed objects in quarantine)
over a per-push Unix socket to :func:`hook_channel`, whose handler answers accept or refuse. Git moves no
ref unless ``pre-receive`` accepts, and deletes the quarantined objects when it refuses, so a refused push
leaves the repo exactly as it was. This module knows git, not repos or users: the handler decides.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pygit2
from anyio.abc import SocketStream
from pygit2.enums import ObjectType

from hubstead.gitstore import hook_client
from hubstead.gitstore.store import FULL_SHA, ZERO_SHA

log = logging.getLogger("hubstead.gitstore")

HOOK_NAMES = ("pre-receive", "post-receive")
HOOK_SCRIPT = """#!/bin/sh
# Installed by Hubstead: asks the server that serves this push (hubstead/gitstore/hooks.py).
exec "${HUBSTEAD_HOOK_PYTHON:?}" -I -S "${HUBSTEAD_HOOK_CLIENT:?}" "${0##*/}"
"""
MAX_REQUEST = 64 * 1024 * 1024  # a push may update many refs; each update line is ~100 bytes


@dataclass(frozen=True)
class RefUpdate:
    """One ref a push moves: ``old`` is None when it creates the ref, ``new`` is None when it deletes it."""

    ref: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class HookVerdict:
    ok: bool
    message: str = ""


class IncomingObjects:
    """The objects a push brought, still in git's quarantine: readable, not yet part of the repository."""

    def __init__(self, repo_path: Path, quarantine: Path | None) -> None:
        self.repo_path = repo_path
        self.quarantine = quarantine

    def new_small_blobs(self, tips: Iterable[str], max_size: int) -> Iterator[tuple[str, bytes]]:
        """``(oid, bytes)`` of every blob of at most ``max_size`` bytes that the commits ``tips`` bring into the
        repository: reachable from them and from no ref of the repository yet. Not only the blobs the push
        carried: a pack may leave out a blob the repository already holds unreferenced (a loose object of a
        refused commit, say), and a new tree may then name it."""
        tips = [t for t in dict.fromkeys(tips) if FULL_SHA.match(t)]
        if not tips:
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        if self.quarantine is not None:
            # as git sets it up for its own hooks: new objects in quarantine, the repository's behind them
            env |= {
                "GIT_OBJECT_DIRECTORY": str(self.quarantine),
                "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(self.repo_path / "objects"),
            }
        listed = subprocess.run(
            ["git", f"--git-dir={self.repo_path}", "rev-list", "--objects", "--no-object-names",
             f"--filter=blob:limit={max_size + 1}", *tips, "--not", "--all"],
            capture_output=True, env=env, check=True, timeout=600,
        )  # fmt: skip
        repo = pygit2.Repository(str(self.repo_path))
        if self.quarantine is not None:
            repo.odb.add_disk_alternate(str(self.quarantine))
        for line in listed.stdout.split():
            oid = pygit2.Oid(hex=line.decode())
            kind, size = repo.odb.read_header(oid)
            if kind == ObjectType.BLOB and size <= max_size:
                yield str(oid), repo.odb.read(oid)[1]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``descendant`` contains ``ancestor`` in its history (a fast-forward from it)."""
        if ancestor == descendant:
            return True
        repo = pygit2.Repository(str(self.repo_path))
        if self.quarantine is not None:
            repo.odb.add_disk_alternate(str(self.quarantine))
        return bool(repo.descendant_of(pygit2.Oid(hex=descendant), pygit2.Oid(hex=ancestor)))


HookHandler = Callable[[str, list[RefUpdate], IncomingObjects], Awaitable[HookVerdict]]


def install_hooks(hooks_dir: Path) -> None:
    """Write the hook scripts (idempotent; several processes may do it at once)."""
    hooks_dir.mkdir(parents=True, exist_ok=True)
    for name in HOOK_NAMES:
        path = hooks_dir / name
        if path.exists() and path.read_text() == HOOK_SCRIPT and os.access(path, os.X_OK):
            continue
        tmp = hooks_dir / f".{name}.{secrets.token_hex(4)}"
        tmp.write_text(HOOK_SCRIPT)
        tmp.chmod(0o755)
        tmp.replace(path)


def parse_updates(text: str) -> list[RefUpdate]:
    """The ``<old> <new> <ref>`` lines git feeds a receive hook."""
    updates = []
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) != 3 or not FULL_SHA.match(parts[0]) or not FULL_SHA.match(parts[1]):
            raise ValueError(f"unexpected hook input line {line!r}")
        old, new, ref = parts
        updates.append(RefUpdate(ref=ref, old=None if old == ZERO_SHA else old, new=None if new == ZERO_SHA else new))
    return updates


def _quarantine(repo_path: Path, value: str) -> Path | None:
    """The quarantine directory git named, accepted only inside this repository's object store."""
    if not value:
        return None
    path = Path(value).resolve()
    if path.parent != (repo_path / "objects").resolve() or not path.is_dir():
        raise ValueError(f"unexpected quarantine directory {value!r}")
    return path


@asynccontextmanager
async def hook_channel(repo_path: Path, handler: HookHandler) -> AsyncIterator[dict[str, str]]:
    """Listen for this push's hooks; yields the environment ``git receive-pack`` needs to reach us."""
    token = secrets.token_hex(16)
    workdir = Path(tempfile.mkdtemp(prefix="hubstead-hook-"))  # 0700: only this user can connect
    socket_path = workdir / "s"

    async def serve(stream: SocketStream) -> None:
        async with stream:
            try:
                verdict = await _answer(stream, token, repo_path, handler)
            except Exception:
                log.exception("receive hook failed for %s", repo_path)
                verdict = HookVerdict(False, "Hubstead: internal error while checking this push")
            reply = json.dumps({"ok": verdict.ok, "message": verdict.message}).encode()
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                await stream.send(reply)  # a hook that is gone can't be told; git then treats it as a refusal

    try:
        listener = await anyio.create_unix_listener(socket_path)
        async with listener, anyio.create_task_group() as tasks:
            tasks.start_soon(listener.serve, serve)
            yield {
                "HUBSTEAD_HOOK_SOCKET": str(socket_path),
                "HUBSTEAD_HOOK_TOKEN": token,
                "HUBSTEAD_HOOK_PYTHON": sys.executable,
                "HUBSTEAD_HOOK_CLIENT": str(Path(hook_client.__file__).resolve()),
            }
            tasks.cancel_scope.cancel()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def _answer(stream: SocketStream, token: str, repo_path: Path, handler: HookHandler) -> HookVerdict:
    raw = bytearray()
    async for chunk in stream:
        raw += chunk
        if len(raw) > MAX_REQUEST:
            raise ValueError("hook request too large")
    request = json.loads(raw)
    if not secrets.compare_digest(str(request.get("token", "")), token):
        raise ValueError("hook request with a wrong token")
    hook = str(request.get("hook", ""))
    if hook not in HOOK_NAMES:
        raise ValueError(f"unknown hook {hook!r}")
    env = request.get("env") or {}
    incoming = IncomingObjects(repo_path, _quarantine(repo_path, str(env.get("GIT_QUARANTINE_PATH", ""))))
    return await handler(hook, parse_updates(str(request.get("updates", ""))), incoming)
