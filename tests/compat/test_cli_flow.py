"""The README's flow, as a newcomer runs it: `hubstead serve`, admin commands, then the `hf` CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(args, env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def served_hub(tmp_path: Path, database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    port = _free_port()
    env = dict(os.environ, HUBSTEAD_DATA_DIR=str(tmp_path / "data"), HUBSTEAD_DATABASE_URL=database_url)
    process = subprocess.Popen(
        [str(BIN / "hubstead"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "hubstead serve did not start"
            time.sleep(0.1)
        yield url, env
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_readme_flow_serve_admin_and_hf_cli(served_hub: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, env = served_hub
    hubstead = str(BIN / "hubstead")
    _run(
        hubstead,
        "admin",
        "create-user",
        "alice",
        "--admin",
        "--password-stdin",
        env=env,
        stdin="a long enough password\n",
    )
    token = _run(hubstead, "admin", "create-token", "alice", "--role", "write", env=env).strip()
    assert token.startswith("hf_")
    assert "\n" not in token

    client_env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_IMPLICIT_TOKEN"}
    client_env |= {"HF_ENDPOINT": url, "HF_TOKEN": token, "HF_HUB_DISABLE_XET": "1", "HF_HOME": str(tmp_path / "hf")}
    hf = str(BIN / "hf")
    assert "alice" in _run(hf, "auth", "whoami", env=client_env)

    folder = tmp_path / "my-model"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text('{"hidden_size": 8}')
    (folder / "sub" / "weights.bin").write_bytes(os.urandom(300_000))
    _run(hf, "upload", "alice/my-model", str(folder), ".", env=client_env)

    out = _run(hf, "download", "alice/my-model", "config.json", env=client_env)
    single = out.strip().splitlines()[-1].strip().removeprefix("path:").strip()
    assert Path(single).read_text() == '{"hidden_size": 8}'
    copy = tmp_path / "copy"
    _run(hf, "download", "alice/my-model", "--local-dir", str(copy), env=client_env)
    assert (copy / "sub" / "weights.bin").read_bytes() == (folder / "sub" / "weights.bin").read_bytes()
    assert (copy / ".gitattributes").exists()
