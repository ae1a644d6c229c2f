"""An LFS upload's conversion to Xet survives the server: a ``hubstead serve`` killed outright while converting
(or before it got to it) finishes the conversion after it is started again, because the conversion is a job
in the database, queued with the upload, and not work in the dead process's memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from huggingface_hub import HfApi

from tests.conftest import make_user

MiB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(hub: Any, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUBSTEAD_")}
    env.update(
        HUBSTEAD_DATA_DIR=str(hub.settings.data_dir),
        HUBSTEAD_DATABASE_URL=hub.settings.resolved_database_url,
        HUBSTEAD_SECRET_KEY="test-secret",
        HUBSTEAD_RATE_LIMIT__ENABLED="false",
        HUBSTEAD_JOBS__LEASE_SECONDS="2",  # a killed server's conversion is taken over 2 s after its last renewal
        HUBSTEAD_JOBS__HEARTBEAT_SECONDS="0.5",
    )
    command = [sys.executable, "-m", "hubstead.cli.main", "serve", "--port", str(port), "--log-level", "warning"]
    with log.open("ab") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)


def _xet_hash(api: HfApi, repo_id: str) -> str | None:
    return api.get_paths_info(repo_id, ["big.bin"])[0].xet_hash


def test_a_conversion_cut_short_by_a_server_crash_is_finished_after_the_restart(hub: Any, tmp_path: Path) -> None:
    token = make_user(hub, "alice").token
    port, log = _free_port(), tmp_path / "server.log"
    server = _serve(hub, port, log)
    try:
        api = HfApi(endpoint=f"http://127.0.0.1:{port}", token=token)
        repo_id = api.create_repo("crash").repo_id
        api.upload_file(path_or_fileobj=os.urandom(96 * MiB), path_in_repo="big.bin", repo_id=repo_id)  # LFS
        os.kill(server.pid, signal.SIGKILL)  # at once: the conversion of 96 MiB takes longer than this
        server.wait(10)
        server = _serve(hub, port, log)
        converted = None
        deadline = time.monotonic() + 90
        while converted is None and time.monotonic() < deadline:
            converted = _xet_hash(api, repo_id)
            time.sleep(0.5)
        assert converted is not None, "the upload was never converted to Xet"
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(30)
