"""The receive-hook channel: the real hook client, started as git starts it, talking to ``hook_channel``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pygit2
import pytest

from hubstead.gitstore import hook_client
from hubstead.gitstore.hooks import (
    HOOK_NAMES,
    HookVerdict,
    IncomingObjects,
    RefUpdate,
    hook_channel,
    install_hooks,
    parse_updates,
)
from hubstead.gitstore.store import ZERO_SHA

A, B = "a" * 40, "b" * 40


def test_parse_updates_reads_creations_moves_and_deletions() -> None:
    text = f"{ZERO_SHA} {A} refs/heads/new\n{A} {B} refs/heads/main\n{B} {ZERO_SHA} refs/tags/gone\n"

    assert parse_updates(text) == [
        RefUpdate("refs/heads/new", None, A),
        RefUpdate("refs/heads/main", A, B),
        RefUpdate("refs/tags/gone", B, None),
    ]


@pytest.mark.parametrize("line", ["garbage", f"{A} refs/heads/main", f"{A} xyz refs/heads/main"])
def test_parse_updates_refuses_what_git_never_sends(line: str) -> None:
    with pytest.raises(ValueError):
        parse_updates(line)


def test_install_hooks_writes_executable_hooks_once(tmp_path: Path) -> None:
    install_hooks(tmp_path / "hooks")
    first = {name: (tmp_path / "hooks" / name).stat().st_mtime_ns for name in HOOK_NAMES}
    install_hooks(tmp_path / "hooks")

    for name in HOOK_NAMES:
        assert os.access(tmp_path / "hooks" / name, os.X_OK)
        assert (tmp_path / "hooks" / name).stat().st_mtime_ns == first[name]


def test_hook_client_refuses_a_push_no_server_started(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSTEAD_HOOK")}
    result = subprocess.run(
        [sys.executable, "-I", "-S", hook_client.__file__, "pre-receive"],
        input="",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert result.returncode == 1
    assert "not started by a Hubstead server" in result.stderr


def _bare_repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo.git"
    pygit2.init_repository(str(path), bare=True)
    return path


async def _run_hook(env: dict[str, str], hook: str, stdin: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-I", "-S", env["HUBSTEAD_HOOK_CLIENT"], hook]
    return await anyio.run_process(command, input=stdin.encode(), env=dict(os.environ, **env), check=False)


@pytest.mark.parametrize(("verdict", "returncode"), [(HookVerdict(True), 0), (HookVerdict(False, "not this"), 1)])
def test_the_server_decides_and_the_hook_relays(tmp_path: Path, verdict: HookVerdict, returncode: int) -> None:
    repo = _bare_repo(tmp_path)
    seen: list[tuple[str, list[RefUpdate]]] = []

    async def handler(hook: str, updates: list[RefUpdate], incoming: IncomingObjects) -> HookVerdict:
        seen.append((hook, updates))
        return verdict

    async def push() -> subprocess.CompletedProcess[bytes]:
        async with hook_channel(repo, handler) as env:
            return await _run_hook(env, "pre-receive", f"{A} {B} refs/heads/main\n")

    result = anyio.run(push)

    assert result.returncode == returncode
    assert verdict.message in result.stderr.decode()
    assert seen == [("pre-receive", [RefUpdate("refs/heads/main", A, B)])]


@pytest.mark.parametrize(
    "tamper",
    [
        {"HUBSTEAD_HOOK_TOKEN": "forged"},
        {"GIT_QUARANTINE_PATH": "/tmp"},  # objects must wait inside this repository's object store
    ],
)
def test_a_forged_or_misdirected_hook_call_is_refused(tmp_path: Path, tamper: dict[str, str]) -> None:
    repo = _bare_repo(tmp_path)
    calls: list[str] = []

    async def handler(hook: str, updates: list[RefUpdate], incoming: IncomingObjects) -> HookVerdict:
        calls.append(hook)
        return HookVerdict(True)

    async def push() -> subprocess.CompletedProcess[bytes]:
        async with hook_channel(repo, handler) as env:
            return await _run_hook(env | tamper, "pre-receive", f"{A} {B} refs/heads/main\n")

    result = anyio.run(push)

    assert result.returncode == 1
    assert calls == []


def test_incoming_objects_lists_the_small_blobs_a_push_brings_in_including_ones_it_left_out(tmp_path: Path) -> None:
    repo_path = _bare_repo(tmp_path)
    repo = pygit2.Repository(str(repo_path))
    signature = pygit2.Signature("t", "t@example.org")
    reachable = repo.create_blob(b"already here")
    builder = repo.TreeBuilder()
    builder.insert("old.txt", reachable, pygit2.enums.FileMode.BLOB)
    base = repo.create_commit("refs/heads/main", signature, signature, "base", builder.write(), [])
    loose = str(repo.create_blob(b"unreferenced, and left out of the pack"))
    quarantine = repo_path / "objects" / "tmp_objdir-incoming-test"
    quarantine.mkdir()
    odb = pygit2.Odb(str(quarantine))
    new_small = str(odb.write(pygit2.enums.ObjectType.BLOB, b"small and new"))
    big = str(odb.write(pygit2.enums.ObjectType.BLOB, b"x" * 2048))
    entries = sorted([("big.bin", big), ("loose.txt", loose), ("new.txt", new_small), ("old.txt", str(reachable))])
    tree_raw = b"".join(b"100644 " + name.encode() + b"\0" + bytes.fromhex(oid) for name, oid in entries)
    tree = str(odb.write(pygit2.enums.ObjectType.TREE, tree_raw))
    raw = f"tree {tree}\nparent {base}\nauthor t <t@example.org> 0 +0000\ncommitter t <t@example.org> 0 +0000\n\nnew\n"
    pushed = str(odb.write(pygit2.enums.ObjectType.COMMIT, raw.encode()))

    incoming = IncomingObjects(repo_path, quarantine)

    assert dict(incoming.new_small_blobs([pushed], 1024)) == {
        new_small: b"small and new",
        loose: b"unreferenced, and left out of the pack",
    }
    assert big in dict(incoming.new_small_blobs([pushed], 4096))
    assert list(incoming.new_small_blobs([str(base)], 4096)) == []  # already reachable from a ref


def test_is_ancestor_sees_quarantined_commits(tmp_path: Path) -> None:
    repo_path = _bare_repo(tmp_path)
    repo = pygit2.Repository(str(repo_path))
    signature = pygit2.Signature("t", "t@example.org")
    tree = repo.TreeBuilder().write()
    base = repo.create_commit(None, signature, signature, "base", tree, [])
    other = repo.create_commit(None, signature, signature, "other", tree, [])
    quarantine = repo_path / "objects" / "tmp_objdir-incoming-test"
    quarantine.mkdir()
    # a pushed commit on top of base that only the quarantine holds
    raw = f"tree {tree}\nparent {base}\nauthor t <t@example.org> 0 +0000\ncommitter t <t@example.org> 0 +0000\n\nnew\n"
    pushed = str(pygit2.Odb(str(quarantine)).write(pygit2.enums.ObjectType.COMMIT, raw.encode()))

    incoming = IncomingObjects(repo_path, quarantine)

    assert incoming.is_ancestor(str(base), pushed)
    assert not incoming.is_ancestor(str(other), pushed)
    assert incoming.is_ancestor(pushed, pushed)
