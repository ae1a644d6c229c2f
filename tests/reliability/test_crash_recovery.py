"""``kill -9`` of the server while commits land, through the API (LFS and Xet) and through ``git push``: after a
restart every acknowledged commit is there with the right bytes, the database agrees with git, and ``git fsck``
finds nothing wrong. The server is a real ``hubstead serve`` process; the writers are real clients in processes
of their own that keep going across the restarts."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hubstead.config import RateLimitSettings, Settings
from hubstead.hub import Hub
from hubstead.repos.models import RepoType
from hubstead.repos.naming import RepoRef
from tests.compat._gitclient import make_git_client
from tests.conftest import make_user

ROOT = Path(__file__).resolve().parents[2]
KILLS = 3
RUN_BETWEEN_KILLS = (4.0, 6.0)  # seconds of load before each kill, varied so kills land at different steps
WRITERS = {"lfs": "alice/lfs", "xet": "alice/xet", "git": "alice/git"}


@dataclass
class Server:
    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            command = ["-m", "hubstead.cli.main", "serve", "--port", str(self.port), "--log-level", "warning"]
            self.process = subprocess.Popen([sys.executable, *command], env=self.env, stdout=log, stderr=log, cwd=ROOT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.1)
        raise AssertionError("hubstead serve did not start:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hub_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "hub",
        database_url=database_url,
        secret_key="crash-test",
        rate_limit=RateLimitSettings(enabled=False),
    )


@pytest.fixture
def server(hub_settings: Settings, tmp_path: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSTEAD_")}
    env |= {
        "HUBSTEAD_DATA_DIR": str(hub_settings.data_dir),
        "HUBSTEAD_DATABASE_URL": hub_settings.resolved_database_url,
        "HUBSTEAD_SECRET_KEY": "crash-test",
        "HUBSTEAD_RATE_LIMIT__ENABLED": "false",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]),
    }
    server = Server(env=env, port=_free_port(), log=tmp_path / "server.log")
    yield server
    server.stop()


def _start_writers(server: Server, token: str, tmp_path: Path) -> tuple[list[subprocess.Popen[bytes]], Path]:
    stop = tmp_path / "stop"
    git_env = make_git_client(tmp_path).env
    writers = []
    for kind, repo in WRITERS.items():
        env = (git_env if kind == "git" else dict(server.env)) | {"PYTHONPATH": server.env["PYTHONPATH"]}
        env.pop("HF_HUB_DISABLE_XET", None)  # the xet writer uploads through Xet, as a default install does
        if kind == "lfs":
            env["HF_HUB_DISABLE_XET"] = "1"
        workdir = tmp_path / f"writer-{kind}"
        workdir.mkdir()
        args = [kind, server.url, token, repo, str(tmp_path / f"acks-{kind}.jsonl"), str(stop), str(workdir)]
        with (tmp_path / f"writer-{kind}.log").open("ab") as log:
            writers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tests.reliability._writers", *args],
                    env=env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=log,
                )
            )
    return writers, stop


def _acks(tmp_path: Path, kind: str) -> list[dict[str, Any]]:
    path = tmp_path / f"acks-{kind}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _git(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", f"--git-dir={path}", *args], capture_output=True, text=True, check=False)


@pytest.mark.slow
def test_every_acknowledged_commit_survives_kill_9(server: Server, hub_settings: Settings, tmp_path: Path) -> None:
    hub = Hub.from_settings(hub_settings)
    token = make_user(hub, "alice").token
    hub.close()
    server.start()
    for repo in WRITERS.values():
        created = httpx.post(f"{server.url}/api/repos/create", json={"name": repo.split("/")[1]},
                             headers={"authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
        assert created.status_code == 200, created.text
    writers, stop = _start_writers(server, token, tmp_path)
    try:
        for kill in range(KILLS):
            time.sleep(RUN_BETWEEN_KILLS[kill % 2])
            server.kill()
            if kill < KILLS - 1:
                server.start()
    finally:
        stop.touch()
        for writer in writers:
            try:
                writer.wait(15)
            except subprocess.TimeoutExpired:  # a client retrying against the dead server: what it recorded stays
                writer.kill()
                writer.wait(15)
    server.start()  # what readers see after the last crash, before anything else is written

    acknowledged = {kind: _acks(tmp_path, kind) for kind in WRITERS}
    assert all(acknowledged.values()), {k: len(v) for k, v in acknowledged.items()}
    problems = []
    with httpx.Client(base_url=server.url, timeout=60, headers={"authorization": f"Bearer {token}"}) as client:
        for kind, repo in WRITERS.items():
            problems += _check_repo(client, hub_settings, kind, repo, acknowledged[kind])
    assert not problems, "\n".join(problems[:20])


def _check_repo(
    client: httpx.Client, settings: Settings, kind: str, repo: str, acks: list[dict[str, Any]]
) -> list[str]:
    problems = []
    path = settings.data_dir / "repos" / f"{RepoRef(RepoType.MODEL, *repo.split('/')).storage_key}.git"
    tip = _git(path, "rev-parse", "refs/heads/main").stdout.strip()
    fsck = _git(path, "fsck", "--full", "--strict", "--no-dangling")
    if fsck.returncode != 0:
        problems.append(f"{repo}: git fsck failed: {fsck.stderr[:500]}")
    listing = client.get("/api/models", params={"author": "alice", "full": "true"}).json()
    listed = next((item.get("sha") for item in listing if item["id"] == repo), None)
    if listed != tip:
        problems.append(f"{repo}: the database lists {listed}, git's main is {tip}")
    for ack in acks:
        if _git(path, "merge-base", "--is-ancestor", ack["sha"], tip).returncode != 0:
            problems.append(f"{repo}: acknowledged commit {ack['sha']} is not on main")
            continue
        for file, digest in ack["files"].items():
            got = client.get(f"/{repo}/resolve/{ack['sha']}/{file}")
            if got.status_code != 200 or hashlib.sha256(got.content).hexdigest() != digest:
                problems.append(f"{repo}@{ack['sha'][:8]}:{file}: {got.status_code}, wrong or missing bytes")
    return problems
