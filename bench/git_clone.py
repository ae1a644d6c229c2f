"""git over HTTP at scale: pushes a repo of 10,000 small files to a live `hubstead serve` with git, then times
a full `git clone` of it (and a partial `--filter=blob:none` clone), and checks that the API lists every file.

    .venv/bin/python bench/git_clone.py [--files 10000] [--database-url URL]

Git runs with a throw-away HOME and global config; the real ~/.gitconfig is not touched.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from hubstead.accounts.models import TokenRole
from hubstead.accounts.services import AccountService
from hubstead.config import Settings
from hubstead.hub import Hub

CREDENTIAL_HELPER = '!f() { test "$1" = get && echo username=bench && echo "password=$BENCH_TOKEN"; }; f'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_token(data_dir: Path, database_url: str | None) -> str:
    hub = Hub.from_settings(Settings(data_dir=data_dir, database_url=database_url))
    try:
        with hub.sessions.begin() as session:
            accounts = AccountService(session)
            user = accounts.create_user("bench", password="a long enough password", email="bench@example.org")
            return accounts.create_token(user, "bench", TokenRole.WRITE)[1]
    finally:
        hub.close()


def start_server(data_dir: Path, database_url: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ, HUBSTEAD_DATA_DIR=str(data_dir))
    if database_url:
        env["HUBSTEAD_DATABASE_URL"] = database_url
    exe = Path(sys.executable).parent / "hubstead"
    process = subprocess.Popen([str(exe), "serve", "--port", str(port), "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def git_env(home: Path, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "BENCH_TOKEN": token,
    }
    return env


def git(env: dict[str, str], cwd: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: SQLite in the temp data dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubstead-bench-git-") as tmp:
        root = Path(tmp)
        token = make_token(root / "data", args.database_url)
        process, url = start_server(root / "data", args.database_url)
        try:
            return run(root, url, token, args.files)
        finally:
            process.terminate()
            process.wait(timeout=30)


def run(root: Path, url: str, token: str, n_files: int) -> int:
    home = root / "home"
    home.mkdir()
    env = git_env(home, token)
    for key, value in {
        "user.name": "Bench",
        "user.email": "bench@example.org",
        "credential.helper": CREDENTIAL_HELPER,
    }.items():
        git(env, root, "config", "--global", key, value)
    headers = {"authorization": f"Bearer {token}"}
    httpx.post(f"{url}/api/repos/create", json={"name": "many"}, headers=headers).raise_for_status()
    remote = f"{url}/bench/many"

    git(env, root, "clone", "-q", remote, "work")
    work = root / "work"
    for i in range(n_files):
        folder = work / f"dir-{i % 100:03d}"
        folder.mkdir(exist_ok=True)
        (folder / f"file-{i:05d}.txt").write_text(f"small file number {i}\n")
    git(env, work, "add", ".")
    git(env, work, "commit", "-q", "-m", f"{n_files} small files")
    push = git(env, work, "push", "-q")

    clone = git(env, root, "clone", "-q", remote, "full")
    partial = git(env, root, "clone", "-q", "--filter=blob:none", remote, "partial")
    cloned = sum(1 for _ in (root / "full").rglob("file-*.txt"))
    listed = httpx.get(f"{url}/api/models/bench/many", headers=headers, timeout=60).json()["siblings"]

    print(f"files: {n_files} (cloned {cloned}, listed by the API {len(listed) - 1})")
    print(f"git push of {n_files} files: {push:.2f} s")
    print(f"git clone: {clone:.2f} s")
    print(f"git clone --filter=blob:none: {partial:.2f} s")
    return 0 if cloned == n_files == len(listed) - 1 else 1


if __name__ == "__main__":
    sys.exit(main())
