"""Git's smart HTTP services, run by the installed ``git`` in stateless-RPC mode and streamed both ways:
``git-upload-pack`` serves clone and fetch, ``git-receive-pack`` serves push (with the hooks of ``hooks.py``).

Nothing here holds a whole request or pack in memory: the request body is fed to git's stdin as it arrives,
and git's stdout is handed on chunk by chunk while git writes it.
"""

from __future__ import annotations

import enum
import os
import re
import subprocess
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

import anyio
import anyio.to_thread

from hubstead.gitstore.hooks import install_hooks
from hubstead.gitstore.store import GitStore

MAX_STDERR = 64 * 1024
CHUNK = 64 * 1024
_PROTOCOL = re.compile(r"^[A-Za-z0-9=:._-]{1,256}$")


class GitService(enum.StrEnum):
    UPLOAD_PACK = "git-upload-pack"  # clone, fetch, pull
    RECEIVE_PACK = "git-receive-pack"  # push

    @property
    def command(self) -> str:
        return self.value.removeprefix("git-")


@dataclass(frozen=True)
class ServiceResult:
    returncode: int
    stderr: bytes
    wrote: bool  # whether git wrote anything on stdout


def pkt_line(payload: bytes) -> bytes:
    return f"{len(payload) + 4:04x}".encode() + payload


def protocol_version(git_protocol: str | None) -> int:
    """The protocol version a client asked for in ``Git-Protocol`` (as ``git http-backend`` reads it)."""
    version = 0
    for item in (git_protocol or "").split(":"):
        key, _, value = item.partition("=")
        if key == "version" and value.isdigit():
            version = max(version, int(value))
    return version


class GitTransport:
    """Builds the git commands that serve one repository of a GitStore over smart HTTP."""

    def __init__(self, store: GitStore, hooks_dir: Path) -> None:
        self.store = store
        self.hooks_dir = hooks_dir.resolve()
        install_hooks(self.hooks_dir)

    def command(self, key: str, service: GitService, *, advertise: bool) -> list[str]:
        path = str(self.store.path_for(key))
        mode = ["--stateless-rpc", "--advertise-refs"] if advertise else ["--stateless-rpc"]
        if service is GitService.UPLOAD_PACK:
            config = {
                "uploadpack.allowFilter": "true",  # partial clones of big repos (--filter=blob:none)
                "uploadpack.allowReachableSHA1InWant": "true",  # fetch a commit by sha, as revision pins do
            }
            return ["git", *_config_args(config), "upload-pack", "--strict", *mode, path]
        config = {
            "core.hooksPath": str(self.hooks_dir),  # pre-receive and post-receive ask the server
            "receive.fsckObjects": "true",  # malformed objects never enter a repo
        }
        return ["git", *_config_args(config), "receive-pack", *mode, path]

    @staticmethod
    def environment(git_protocol: str | None) -> dict[str, str]:
        """The server's environment without variables that would point git elsewhere, plus the client's
        protocol request (``version=2`` and the like)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        if git_protocol and _PROTOCOL.match(git_protocol):
            env["GIT_PROTOCOL"] = git_protocol
        return env

    @staticmethod
    def advertisement_header(service: GitService, git_protocol: str | None) -> bytes:
        """What precedes the ref advertisement of ``info/refs`` (nothing for protocol v2)."""
        if protocol_version(git_protocol) == 2:
            return b""
        return pkt_line(f"# service={service.value}\n".encode()) + b"0000"


def _config_args(config: Mapping[str, str]) -> list[str]:
    return [arg for key, value in config.items() for arg in ("-c", f"{key}={value}")]


async def run_service(
    argv: Sequence[str],
    env: Mapping[str, str],
    body: AsyncIterable[bytes] | None,
    write: Callable[[bytes], Awaitable[None]],
) -> ServiceResult:
    """Run ``argv`` with ``body`` streamed to its stdin and its stdout streamed to ``write``.

    If the caller is cancelled, git is killed; a push killed this way moves no ref (git's own atomicity)."""
    # subprocess.Popen, not the event loop's subprocess support: uvloop forks and then runs Python's at-fork
    # handlers in the child, which can deadlock on a lock another thread held at fork time
    stdin = subprocess.PIPE if body is not None else subprocess.DEVNULL
    process = await anyio.to_thread.run_sync(partial(_spawn, list(argv), stdin, dict(env)))
    pipes = [pipe for pipe in (process.stdin, process.stdout, process.stderr) if pipe is not None]
    for pipe in pipes:
        os.set_blocking(pipe.fileno(), False)
    stderr = bytearray()
    wrote = False
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        async with anyio.create_task_group() as tasks:
            if body is not None:
                assert process.stdin is not None
                tasks.start_soon(_feed, process.stdin, body)
            tasks.start_soon(_collect, process.stderr.fileno(), stderr)
            async for chunk in _chunks(process.stdout.fileno()):
                wrote = True
                await write(chunk)
        returncode = await anyio.to_thread.run_sync(process.wait)
    finally:
        if process.poll() is None:
            process.kill()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(process.wait)
        for pipe in pipes:
            pipe.close()
    return ServiceResult(returncode=returncode, stderr=bytes(stderr), wrote=wrote)


def _spawn(argv: list[str], stdin: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


async def _chunks(fd: int) -> AsyncIterator[bytes]:
    """What a non-blocking pipe delivers, until its end."""
    while True:
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            await anyio.wait_readable(fd)
            continue
        if not data:
            return
        yield data


async def _feed(stdin: IO[bytes], body: AsyncIterable[bytes]) -> None:
    fd = stdin.fileno()
    try:
        async for chunk in body:
            view = memoryview(chunk)
            while view:
                try:
                    view = view[os.write(fd, view) :]
                except BlockingIOError:
                    await anyio.wait_writable(fd)
    except BrokenPipeError:
        pass  # git stopped reading: it has answered or failed, and its output says which
    finally:
        stdin.close()  # closing git's stdin tells it the request is complete


async def _collect(fd: int, into: bytearray) -> None:
    async for chunk in _chunks(fd):
        into += chunk
        del into[:-MAX_STDERR]
