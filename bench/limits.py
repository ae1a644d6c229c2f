"""Transfer, metadata and commit speed against the physical limit: a live `hubstead serve` (SQLite + local
disk) next to the fastest thing that could do the same job on this machine, both measured in this run.

- download a 1 GiB LFS file with `hf_hub_download` from Hubstead, and from nginx serving the same file
  from the same disk (sendfile) with the same headers; then over 16 parallel range streams, same client;
- upload it with `upload_file`, against the floor of hashing it (sha256) and writing it once (fsync);
- `HEAD` resolve and `model_info` requests per second at 16 concurrent keep-alive connections, against nginx
  answering the same request from a static file;
- a commit of 1,000 small files against `git add && git commit`, and the full recursive tree listing of a
  100,000-file repo against `git ls-tree -r -l`;
- the server's peak RSS while streaming the 1 GiB files, against its own idle RSS.

    .venv/bin/python bench/limits.py [--size-mib 1024] [--workers 2] [--tree-files 100000]

Needs `nginx` on PATH (`make bench` installs both).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import mmap
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import cast

MiB = 1024 * 1024
REPO = "bench/big"
TREE_REPO = "bench/tree"
FILE = "model.safetensors"
STREAMS = 16
CLIENTS = 16
CHUNK = 8 * MiB


@dataclass
class Row:
    label: str
    value: float
    unit: str
    baseline_label: str
    baseline: float
    higher_is_better: bool = True
    target: str = "-"
    ok: bool | None = None

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.value / self.baseline
        return self.baseline / self.value if self.unit in ("s", "us/req") else self.value / self.baseline


# --- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes]) -> None:
    import httpx

    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


@contextlib.contextmanager
def hubstead(data_dir: Path, workers: int) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = dict(os.environ, HUBSTEAD_DATA_DIR=str(data_dir))
    # one client makes every request: the rate limiter counts them (its cost is measured) but never refuses one
    for field in ("ANONYMOUS_REQUESTS", "ANONYMOUS_DOWNLOADS", "TOKEN_REQUESTS", "TOKEN_DOWNLOADS"):
        env[f"HUBSTEAD_RATE_LIMIT__{field}"] = str(10**9)
    exe = Path(sys.executable).parent / "hubstead"
    cmd = [str(exe), "serve", "--port", str(port), "--log-level", "warning", "--workers", str(workers)]
    process = subprocess.Popen(cmd, env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


NGINX_CONF = """
daemon off;
user root;
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        location = /{repo}/resolve/main/{file} {{
            alias {blob};
            etag off;
            add_header X-Repo-Commit {commit};
            add_header ETag '"{oid}"';
            add_header X-Linked-Etag '"{oid}"';
            add_header X-Linked-Size {size};
        }}
        location = /api/models/{repo} {{
            alias {tmp}/model_info.json;
            default_type application/json;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(tmp: Path, workers: int, **fields: object) -> Iterator[tuple[str, int]]:
    """nginx serving the hub's own blob file for the resolve URL, and model_info as a static file."""
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, workers=workers, repo=REPO, file=FILE, **fields))
    process = subprocess.Popen(["nginx", "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "nginx-error.log")])
    try:
        wait_http(f"http://127.0.0.1:{port}/api/models/{REPO}", process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- memory -------------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                queue += [int(c) for c in (task / "children").read_text().split()]
    return pids


def rss_bytes(pid: int) -> tuple[int, int]:
    """Resident memory of the largest process under ``pid`` (uvicorn workers included), and of all of them."""
    sizes = []
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) * 1024)
    return max(sizes, default=0), sum(sizes)


class RssSampler:
    """Peak resident memory (largest process, all processes) of a server, sampled every 20 ms, per phase."""

    def __init__(self, pid: int) -> None:
        self.pid, self.phase = pid, "idle"
        self.peaks: dict[str, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        largest, total = rss_bytes(self.pid)
        old = self.peaks.get(self.phase, (0, 0))
        self.peaks[self.phase] = (max(old[0], largest), max(old[1], total))

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self._sample()

    def peak(self, *phases: str) -> tuple[int, int]:
        values = [self.peaks[p] for p in phases if p in self.peaks]
        return max(v[0] for v in values), max(v[1] for v in values)

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


# --- workloads ----------------------------------------------------------------------------------


def make_file(path: Path, size: int) -> str:
    block, hasher, written = os.urandom(64 * MiB), hashlib.sha256(), 0
    with path.open("wb") as f:
        while written < size:
            piece = block[: min(len(block), size - written)]
            f.write(piece)
            hasher.update(piece)
            written += len(piece)
    return hasher.hexdigest()


def hash_and_write_floor(src: Path, dst: Path) -> float:
    """The least an upload must do once the bytes are here: sha256 them and write them durably, once."""
    started = time.perf_counter()
    hasher = hashlib.sha256()
    with src.open("rb", buffering=0) as fin, dst.open("wb", buffering=0) as fout:
        while chunk := fin.read(CHUNK):
            hasher.update(chunk)
            fout.write(chunk)
        os.fsync(fout.fileno())
    hasher.hexdigest()
    elapsed = time.perf_counter() - started
    dst.unlink()
    return elapsed


def hash_and_direct_write_floor(src: Path, dst: Path) -> float:
    """The same, written with O_DIRECT from a page-aligned buffer (as Hubstead writes uploads): the disk reads
    the bytes from the buffer, with no copy into the page cache, which is what a buffered write costs most of
    on a virtual machine. Both floors are shown: the issue's (buffered) and this stricter one."""
    started = time.perf_counter()
    hasher = hashlib.sha256()
    buffer = mmap.mmap(-1, CHUNK, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    view = memoryview(buffer)
    with src.open("rb", buffering=0) as fin:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
        try:
            offset = 0
            while n := fin.readinto(view):
                hasher.update(view[:n])
                whole = n - n % 4096
                os.pwrite(fd, view[:whole], offset)
                if whole < n:  # the tail of the file, off a block: through the page cache
                    with dst.open("r+b", buffering=0) as tail:
                        tail.seek(offset + whole)
                        tail.write(view[whole:n])
                offset += n
            os.fsync(fd)
        finally:
            os.close(fd)
    hasher.hexdigest()
    elapsed = time.perf_counter() - started
    view.release()
    dst.unlink()
    return elapsed


def timed_download(endpoint: str, cache: Path) -> float:
    from huggingface_hub import hf_hub_download

    started = time.perf_counter()
    path = hf_hub_download(REPO, FILE, endpoint=endpoint, cache_dir=cache, token=False)
    elapsed = time.perf_counter() - started
    size = Path(path).stat().st_size
    shutil.rmtree(cache)
    if size <= 0:
        raise RuntimeError("empty download")
    return elapsed


def timed_parallel_download(url: str, size: int, out: Path, streams: int) -> float:
    """The file over ``streams`` concurrent range requests, written in place, with one httpx client each."""
    import httpx

    step = -(-size // streams)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)

    def fetch(start: int) -> int:
        end = min(start + step, size) - 1
        offset = start
        with (
            httpx.Client(timeout=120) as client,
            client.stream("GET", url, headers={"Range": f"bytes={start}-{end}"}) as response,
        ):
            response.raise_for_status()
            for chunk in response.iter_raw(CHUNK):
                offset += os.pwrite(fd, chunk, offset)
        return offset - start

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(streams) as pool:
            received = sum(pool.map(fetch, range(0, size, step)))
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - started
    out.unlink()
    if received != size:
        raise RuntimeError(f"received {received} of {size} bytes")
    return elapsed


class _Client(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection sending the same request back to back until the deadline."""

    def __init__(self, request: bytes, head: bool, deadline: float, done: asyncio.Future[None]) -> None:
        self.request, self.head, self.deadline, self.done = request, head, deadline, done
        self.buffer, self.need, self.count, self.errors = b"", -1, 0, 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            header = self.buffer[:end].lower()
            self.errors += not header.startswith((b"http/1.1 2", b"http/1.1 3"))
            length = re.search(rb"\r\ncontent-length:\s*(\d+)", header)
            self.need = end + 4 + (0 if self.head or length is None else int(length.group(1)))
        if len(self.buffer) >= self.need:
            self.count += 1
            self.buffer, self.need = self.buffer[self.need :], -1
            assert self.transport is not None
            if time.perf_counter() < self.deadline:
                self.transport.write(self.request)
            else:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _load(url: str, method: str, seconds: float, connections: int) -> tuple[int, int, float]:
    parsed = split_url(url)
    request = f"{method} {parsed[2]} HTTP/1.1\r\nHost: {parsed[0]}:{parsed[1]}\r\nAccept: */*\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    clients = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        client = _Client(request, method == "HEAD", started + seconds, done)
        await loop.create_connection(lambda c=client: c, parsed[0], parsed[1])  # type: ignore[misc]
        clients.append(client)
    await asyncio.wait_for(asyncio.gather(*(c.done for c in clients)), seconds + 30)
    elapsed = time.perf_counter() - started
    return sum(c.count for c in clients), sum(c.errors for c in clients), elapsed


def split_url(url: str) -> tuple[str, int, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"


def load(url: str, method: str, seconds: int, connections: int, server_pid: int) -> tuple[float, float]:
    """Requests per second over ``connections`` keep-alive connections from one event loop; errors fail the run.
    (wrk never finishes a HEAD whose answer has a Content-Length, and ab speaks HTTP/1.0, which uvicorn closes.)
    Also the server's CPU time per request (its processes' user + system time over the run, in microseconds):
    what its throughput on this machine's cores is made of, and a figure the machine's load moves far less."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(_load(url, method, 1, connections))  # warm up
    cpu = cpu_seconds(server_pid)
    count, errors, elapsed = asyncio.run(_load(url, method, seconds, connections))
    if errors or not count:
        raise RuntimeError(f"{errors} of {count} {method} {url} failed")
    used = (cpu_seconds(server_pid) - cpu) / count * 1e6
    print(f"{method} {url}: {count / elapsed:,.0f} req/s, server CPU {used:,.0f} us/request", file=sys.stderr)
    return count / elapsed, used


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (uvicorn workers)."""
    ticks = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def small_files(n: int) -> list[tuple[str, bytes]]:
    return [(f"configs/part-{i:04d}.json", json.dumps({"index": i, "name": f"file {i}"}).encode()) for i in range(n)]


def git_commit_baseline(work: Path, files: list[tuple[str, bytes]]) -> float:
    """The same files committed by git itself into a local repo: write excluded, add + commit timed."""
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    for path, data in files:
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(data)
    git = ["git", "-C", str(work), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    started = time.perf_counter()
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "1,000 files"], check=True)
    elapsed = time.perf_counter() - started
    shutil.rmtree(work)
    return elapsed


def fill_tree(git_dir: Path, n: int) -> None:
    """``n`` small JSON files (~200 bytes: read, like any file that could be an LFS pointer, when listed) in
    folders of 1,000, written as one pack by ``git fast-import`` onto main."""
    lines = ["commit refs/heads/main", "committer bench <bench@localhost> 1700000000 +0000", "data 9", "100k tree"]
    parent = subprocess.run(["git", f"--git-dir={git_dir}", "rev-parse", "refs/heads/main"], capture_output=True)
    if parent.returncode == 0:
        lines.append(f"from {parent.stdout.decode().strip()}")
    for i in range(n):
        data = (
            json.dumps(
                {
                    "shard": i,
                    "split": "train",
                    "rows": 1000 + i % 977,
                    "columns": ["id", "text", "label", "source"],
                    "checksum": f"{i * 2654435761 % 2**64:016x}",
                    "license": "cc-by-4.0",
                }
            )
            + "\n"
        )
        lines += [f"M 100644 inline data/{i // 1000:03d}/shard-{i:06d}.json", f"data {len(data)}", data.rstrip("\n")]
    stream = ("\n".join(lines) + "\n").encode()
    subprocess.run(["git", f"--git-dir={git_dir}", "fast-import", "--quiet"], input=stream, check=True)


# --- the run ------------------------------------------------------------------------------------


def setup_accounts(data_dir: Path) -> str:
    from hubstead.accounts.models import TokenRole
    from hubstead.accounts.services import AccountService
    from hubstead.config import Settings
    from hubstead.hub import Hub

    hub = Hub.from_settings(Settings(data_dir=data_dir))
    try:
        with hub.sessions.begin() as session:
            accounts = AccountService(session)
            user = accounts.create_user("bench", password=None)
            _, token = accounts.create_token(user, "bench", TokenRole.WRITE)
    finally:
        hub.close()
    return token


def run(args: argparse.Namespace, tmp: Path) -> list[Row]:
    size = args.size_mib * MiB
    data_dir = tmp / "data"
    token = setup_accounts(data_dir)
    src = tmp / "upload.bin"
    oid = make_file(src, size)
    label = f"{size / 2**30:g} GiB" if size >= 2**30 else f"{args.size_mib} MiB"
    with hubstead(data_dir, args.workers) as (url, pid), RssSampler(pid) as memory:
        time.sleep(1)
        rows = transfers(args, tmp, url, token, src, oid, label, memory)
        memory.phase = "after"
        rows += metadata_and_commits(args, tmp, url, token, data_dir)
    (largest, total), (idle_largest, idle_total) = memory.peak("upload", "download"), memory.peak("idle")
    for phase, (one, every) in memory.peaks.items():
        print(
            f"RSS peak during {phase}: largest process {one / MiB:.0f} MiB, all {every / MiB:.0f} MiB", file=sys.stderr
        )
    rows.append(
        Row(
            f"peak RSS of a server process, {label} transfers",
            largest / MiB,
            "MiB",
            "same process idle",
            idle_largest / MiB,
            higher_is_better=False,
            target="< 300 MiB",
            ok=largest < 300 * MiB,
        )
    )
    rows.append(
        Row(
            f"peak RSS, all {args.workers} workers + supervisor",
            total / MiB,
            "MiB",
            "same processes idle",
            idle_total / MiB,
            higher_is_better=False,
        )
    )
    return rows


def transfers(
    args: argparse.Namespace, tmp: Path, url: str, token: str, src: Path, oid: str, label: str, memory: RssSampler
) -> list[Row]:
    from huggingface_hub import HfApi

    size = src.stat().st_size
    api = HfApi(endpoint=url, token=token)
    floors, direct_floors, uploads = [], [], []
    for run in range(args.runs):  # each run into a new repo, so that the object is sent and stored again
        repo_id = REPO if run == 0 else f"{REPO}-{run}"
        api.create_repo(repo_id)
        floors.append(hash_and_write_floor(src, tmp / "floor.bin"))
        direct_floors.append(hash_and_direct_write_floor(src, tmp / "floor.bin"))
        memory.phase = "upload"
        started = time.perf_counter()
        api.upload_file(path_or_fileobj=src, path_in_repo=FILE, repo_id=repo_id)
        uploads.append(time.perf_counter() - started)
        memory.phase = "xet conversion"
        wait_for_xet_conversion(tmp / "data", repo_id)
        memory.phase = "after"
    src.unlink()
    floor, upload = min(floors), min(uploads)
    upload_row = Row(
        f"upload {label}, upload_file",
        size / upload / MiB,
        "MiB/s",
        "sha256 + write + fsync floor",
        size / floor / MiB,
        target=">= 0.70x",
    )
    upload_row.ok = upload_row.ratio >= 0.7
    direct_row = Row(
        "  the same upload",
        size / upload / MiB,
        "MiB/s",
        "sha256 + O_DIRECT write floor",
        size / min(direct_floors) / MiB,
    )
    info = api.model_info(REPO)
    blob = tmp / "data" / "blobs" / "lfs" / oid[:2] / oid[2:4] / oid
    (tmp / "model_info.json").write_bytes(api_get(f"{url}/api/models/{REPO}"))
    fields = {"blob": blob, "commit": info.sha, "oid": oid, "size": size}
    with nginx(tmp, args.workers, **fields) as (nginx_url, nginx_pid):
        rows = [upload_row, direct_row, *downloads(url, nginx_url, size, tmp, label, args.runs, memory)]
        memory.phase = "after"
        rows += requests_per_second(url, nginx_url, args.seconds, memory.pid, nginx_pid)
    return rows


def wait_for_xet_conversion(data_dir: Path, repo_id: str) -> None:
    """The upload queued a job (xet.convert) that chunks the object into xorbs, so that Xet clients can download
    it; the server's in-process worker runs it (with `--workers N`, the one `hubstead worker` beside them). Wait
    for it, reading the jobs table, before measuring anything else, so that it does not run under the next
    measurement; report how long it ran, and stop if it failed."""
    from sqlalchemy import select

    from hubstead.config import Settings
    from hubstead.hub import Hub
    from hubstead.jobs.models import Job, JobState
    from hubstead.repos.models import Repo

    namespace, name = repo_id.split("/")
    hub = Hub.from_settings(Settings(data_dir=data_dir), migrate_db=False)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < 300:
            with hub.sessions() as session:
                job = session.scalar(
                    select(Job)
                    .join(Repo, Repo.id == Job.repo_id)
                    .where(Job.kind == "xet.convert", Repo.namespace == namespace, Repo.name == name)
                )
            if job is not None and job.state == JobState.FAILED:
                raise RuntimeError(f"the Xet conversion of {repo_id}/{FILE} failed: {job.error}")
            if job is not None and job.state == JobState.SUCCEEDED:
                assert job.started_at is not None
                assert job.finished_at is not None
                ran = (job.finished_at - job.started_at).total_seconds()
                print(f"Xet conversion of {repo_id}/{FILE} (job {job.id}, attempt {job.attempts}): ran {ran:.1f} s, "
                      f"done {time.perf_counter() - started:.1f} s after the upload", file=sys.stderr)  # fmt: skip
                return
            time.sleep(0.5)
    finally:
        hub.close()
    raise RuntimeError("the upload was not converted to Xet within 300 s")


def metadata_and_commits(args: argparse.Namespace, tmp: Path, url: str, token: str, data_dir: Path) -> list[Row]:
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=url, token=token)
    files = small_files(1000)
    started = time.perf_counter()
    api.create_commit(REPO, [CommitOperationAdd(p, d) for p, d in files], commit_message="1,000 files")
    commit = time.perf_counter() - started
    rows = [
        Row(
            "commit 1,000 small files (create_commit)",
            commit,
            "s",
            "git add + commit",
            git_commit_baseline(tmp / "git-work", files),
            higher_is_better=False,
        )
    ]
    api.create_repo(TREE_REPO)
    git_dir = data_dir / "repos" / "models" / f"{TREE_REPO}.git"
    fill_tree(git_dir, args.tree_files)
    rows.append(tree_listing(api, git_dir, args.tree_files))
    return rows


def api_get(url: str) -> bytes:
    import httpx

    response = httpx.get(url)
    response.raise_for_status()
    return response.content


def downloads(url: str, nginx_url: str, size: int, tmp: Path, label: str, runs: int, memory: RssSampler) -> list[Row]:
    """Best of ``runs`` for each, Hubstead and nginx taking turns so that a burst of load hits both alike."""
    resolve, out = f"/{REPO}/resolve/main/{FILE}", tmp / "parallel.bin"
    single, single_nginx, parallel, parallel_nginx = [], [], [], []
    for _ in range(runs):
        memory.phase = "download"
        single.append(timed_download(url, tmp / "cache"))
        parallel.append(timed_parallel_download(url + resolve, size, out, STREAMS))
        memory.phase = "after"
        single_nginx.append(timed_download(nginx_url, tmp / "cache"))
        parallel_nginx.append(timed_parallel_download(nginx_url + resolve, size, out, STREAMS))
    first = Row(
        f"download {label}, hf_hub_download, 1 stream",
        size / min(single) / MiB,
        "MiB/s",
        "nginx, same client",
        size / min(single_nginx) / MiB,
        target=">= 0.80x",
    )
    first.ok = first.ratio >= 0.8
    return [
        first,
        Row(
            f"download {label}, {STREAMS} parallel range streams",
            size / min(parallel) / MiB,
            "MiB/s",
            "nginx, same client",
            size / min(parallel_nginx) / MiB,
        ),
    ]


def requests_per_second(url: str, nginx_url: str, seconds: int, pid: int, nginx_pid: int) -> list[Row]:
    """Requests per second, and right below each, the server's CPU time per request against nginx's."""
    resolve = f"/{REPO}/resolve/main/{FILE}"
    (head, head_cpu), (nginx_head, nginx_head_cpu) = (
        load(url + resolve, "HEAD", seconds, CLIENTS, pid),
        load(nginx_url + resolve, "HEAD", seconds, CLIENTS, nginx_pid),
    )
    (info, info_cpu), (nginx_info, nginx_info_cpu) = (
        load(f"{url}/api/models/{REPO}", "GET", seconds, CLIENTS, pid),
        load(f"{nginx_url}/api/models/{REPO}", "GET", seconds, CLIENTS, nginx_pid),
    )
    cpu = "us/req"
    return [
        Row(
            f"HEAD resolve, {CLIENTS} clients",
            head,
            "req/s",
            "nginx, same file",
            nginx_head,
            target=">= 1,500 req/s",
            ok=head >= 1500,
        ),
        Row("  server CPU per HEAD", head_cpu, cpu, "nginx's", nginx_head_cpu, higher_is_better=False),
        Row(f"model_info, {CLIENTS} clients", info, "req/s", "nginx, same JSON as a file", nginx_info),
        Row("  server CPU per model_info", info_cpu, cpu, "nginx's", nginx_info_cpu, higher_is_better=False),
    ]


def tree_listing(api: object, git_dir: Path, n: int) -> Row:
    from huggingface_hub import HfApi

    assert isinstance(api, HfApi)
    started = time.perf_counter()
    entries = list(api.list_repo_tree(TREE_REPO, recursive=True))
    elapsed = time.perf_counter() - started
    if sum(1 for e in entries if getattr(e, "size", None) is not None and e.path.startswith("data/")) < n:
        raise RuntimeError(f"tree listing returned {len(entries)} entries")
    started = time.perf_counter()
    subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-r", "-l", "main"], capture_output=True, check=True)
    baseline = time.perf_counter() - started
    return Row(
        f"tree listing, {n:,} files (recursive, all pages)",
        elapsed,
        "s",
        "git ls-tree -r -l",
        baseline,
        higher_is_better=False,
    )


def print_table(rows: list[Row]) -> None:
    print("\nHubstead against the physical limit (SQLite + local disk, 127.0.0.1)\n")
    print(
        f"| {'benchmark':<48} | {'Hubstead':>15} | {'baseline':<30} | {'baseline':>15} | {'ratio':>7} | "
        f"{'target':<15} |"
    )
    print(f"|{'-' * 50}|{'-' * 17}|{'-' * 32}|{'-' * 17}|{'-' * 9}|{'-' * 17}|")
    for r in rows:
        verdict = "" if r.ok is None else (" ok" if r.ok else " MISS")
        target = (r.target + verdict) if r.target != "-" else "-"
        print(
            f"| {r.label:<48} | {fmt(r.value, r.unit):>15} | {r.baseline_label:<30} | "
            f"{fmt(r.baseline, r.unit):>15} | {r.ratio:6.2f}x | {target:<15} |"
        )
    print(
        "\nratio: Hubstead's speed as a fraction of the baseline's (for RSS: Hubstead peak / idle; for server CPU "
        "per request: the baseline's / Hubstead's, so that the server's CPU bounds its rate at cores / CPU)"
    )


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "us/req":
        return f"{value:,.0f} \N{MICRO SIGN}s/req"
    return f"{value:,.0f} {unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the large file (default 1 GiB)")
    parser.add_argument("--workers", type=int, default=2, help="hubstead serve --workers, and nginx workers")
    parser.add_argument("--tree-files", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="downloads: best of this many runs")
    parser.add_argument("--seconds", type=int, default=5, help="duration of each requests-per-second run")
    args = parser.parse_args()
    for tool in ("nginx", "git"):
        if shutil.which(tool) is None:
            print(f"error: {tool} is not on PATH (make bench installs it)", file=sys.stderr)
            return 2
    need = 4 * args.size_mib * MiB  # source, stored blob, a re-upload's temp file, a download
    if shutil.disk_usage(tempfile.gettempdir()).free < need + 2**30:
        print(f"error: {tempfile.gettempdir()} needs {need / 2**30:.1f} GiB free", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hubstead-limits-") as tmp:
        os.environ.update(
            HF_HOME=str(Path(tmp) / "hf-home"),
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            HF_HUB_DISABLE_XET="1",
        )
        started, load_before = time.perf_counter(), os.getloadavg()[0]
        rows = run(args, Path(tmp))
    print_table(rows)
    print(
        f"machine load (1-minute average) at the start {load_before:.1f}, at the end {os.getloadavg()[0]:.1f}, "
        f"on {os.cpu_count()} cores; {time.perf_counter() - started:.0f} s"
    )
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
