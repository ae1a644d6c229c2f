"""``hubstead worker`` and ``hubstead serve`` as processes, on every database backend: several workers never
run a job twice, a job whose worker is killed is finished by another once its lease expires, SIGTERM hands the
running job back, and ``serve`` runs jobs in-process unless ``--no-worker`` (one worker process beside several
server processes)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi

from hubstead.jobs.models import Job, JobState
from tests.conftest import make_user
from tests.unit.jobs.tasks_for_tests import MODULE

ROOT = Path(__file__).resolve().parents[3]
LEASE_SECONDS = 2
CLEAN_EXIT = (0, -signal.SIGTERM)  # uvicorn shuts down, then re-raises the signal it caught


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    output: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""


def hub_env(hub: Any) -> dict[str, str]:
    """The hub's own settings, for processes: same database, data dir and secret, the test job kinds."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUBSTEAD_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env.update(
        HUBSTEAD_DATA_DIR=str(hub.settings.data_dir),
        HUBSTEAD_DATABASE_URL=hub.settings.resolved_database_url,
        HUBSTEAD_SECRET_KEY="test-secret",
        HUBSTEAD_RATE_LIMIT__ENABLED="false",
        HUBSTEAD_JOBS__TASK_MODULES=json.dumps([MODULE]),
        HUBSTEAD_JOBS__LEASE_SECONDS=str(LEASE_SECONDS),
        HUBSTEAD_JOBS__HEARTBEAT_SECONDS="0.5",
        HUBSTEAD_JOBS__POLL_SECONDS="0.1",
        HUBSTEAD_JOBS__SHUTDOWN_GRACE_SECONDS="1",
    )
    return env


@pytest.fixture
def spawn(hub: Any, tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    """Start ``hubstead <args>`` with the hub's settings; whatever is still running is killed afterwards."""
    started: list[Proc] = []

    def start(*args: str) -> Proc:
        output = tmp_path / f"proc-{len(started)}.log"
        with output.open("wb") as sink:
            command = [sys.executable, "-m", "hubstead.cli.main", *args]
            process = subprocess.Popen(command, env=hub_env(hub), stdout=sink, stderr=subprocess.STDOUT)
        proc = Proc(process, output)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.process.poll() is None:
            proc.process.kill()
            proc.process.wait(10)


def wait_until(check: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        time.sleep(0.05)


def started_worker(spawn: Callable[..., Proc], *args: str) -> Proc:
    proc = spawn("worker", *args)
    wait_until(lambda: " runs " in proc.text() or proc.process.poll() is not None, what="the worker to start")
    assert proc.process.poll() is None, proc.text()
    return proc


def load(hub: Any, job_id: int) -> Job:
    with hub.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def enqueue(hub: Any, kind: str, payload: dict[str, Any]) -> int:
    with hub.sessions.begin() as session:
        return hub.jobs.enqueue(session, kind, payload).id


# --- hubstead worker ------------------------------------------------------------------------------------------


def test_two_worker_processes_run_each_job_exactly_once(hub: Any, tmp_path: Path, spawn: Any) -> None:
    first = started_worker(spawn, "--concurrency", "2")
    second = started_worker(spawn, "--concurrency", "2")
    path = tmp_path / "runs"
    with hub.sessions.begin() as session:
        ids = [hub.jobs.enqueue(session, "test.record", {"path": str(path), "sleep": 0.05}).id for _ in range(60)]

    wait_until(lambda: path.exists() and len(path.read_text().splitlines()) >= 60, what="60 runs")
    wait_until(lambda: all(load(hub, i).state == JobState.SUCCEEDED for i in ids), what="every job to succeed")

    runs = [line.split() for line in path.read_text().splitlines()]
    assert sorted(int(job_id) for job_id, _, _ in runs) == ids  # every job, once
    assert {attempt for _, attempt, _ in runs} == {"1"}
    assert {int(pid) for _, _, pid in runs} == {first.pid, second.pid}  # both took part


def test_the_job_of_a_killed_worker_is_finished_by_another_after_its_lease(
    hub: Any, tmp_path: Path, spawn: Any
) -> None:
    doomed = started_worker(spawn)
    job_id = enqueue(hub, "test.block", {"dir": str(tmp_path), "finish_on_attempt": 2})
    wait_until((tmp_path / "started-1").exists, what="the first attempt")

    os.kill(doomed.pid, signal.SIGKILL)
    doomed.process.wait(10)
    killed_at = time.monotonic()
    survivor = started_worker(spawn)
    wait_until(lambda: load(hub, job_id).state == JobState.SUCCEEDED, what="the second attempt")

    assert time.monotonic() - killed_at >= LEASE_SECONDS - 0.5  # not before the lease ran out
    job = load(hub, job_id)
    assert job.attempts == 2
    assert (tmp_path / "finished").read_text().split() == [str(job_id), "2", str(survivor.pid)]
    assert "stopped renewing its lease: running the job again" in job.log
    assert job.log.index("attempt 1 of 3") < job.log.index("attempt 2 of 3")


def test_sigterm_hands_the_running_job_back_and_the_worker_exits(hub: Any, tmp_path: Path, spawn: Any) -> None:
    worker = started_worker(spawn)
    job_id = enqueue(hub, "test.block", {"dir": str(tmp_path)})
    wait_until((tmp_path / "started-1").exists, what="the job to start")

    worker.process.send_signal(signal.SIGTERM)

    assert worker.process.wait(20) == 0, worker.text()
    job = load(hub, job_id)
    assert (job.state, job.attempts, job.worker_id) == (JobState.QUEUED, 0, None)
    assert "handed back: the worker is stopping" in job.log


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--kinds", "no-such-pool"], "neither a pool"), (["--concurrency", "0"], "at least 1")],
)
def test_a_worker_with_bad_options_says_why_and_stops(hub: Any, spawn: Any, args: list[str], message: str) -> None:
    proc = spawn("worker", *args)
    assert proc.process.wait(60) == 2
    assert message in proc.text()


def test_a_worker_for_the_train_pool_runs_only_its_jobs(hub: Any, tmp_path: Path, spawn: Any) -> None:
    path = tmp_path / "runs"
    train = enqueue(hub, "test.train", {"path": str(path)})
    other = enqueue(hub, "test.record", {"path": str(path)})

    started_worker(spawn, "--kinds", "train")
    wait_until(lambda: load(hub, train).state == JobState.SUCCEEDED, what="the training job")

    time.sleep(0.5)
    assert load(hub, other).state == JobState.QUEUED


# --- hubstead serve ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(spawn: Callable[..., Proc], *args: str) -> tuple[Proc, str]:
    port = free_port()
    proc = spawn("serve", "--port", str(port), "--log-level", "warning", *args)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert proc.process.poll() is None, proc.text()
        try:
            return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answers, what="the server")
    return proc, url


def upload_lfs_file(hub: Any, url: str, tmp_path: Path) -> tuple[HfApi, str]:
    """An LFS upload (Xet is off in the tests' client), which queues its conversion to Xet."""
    api = HfApi(endpoint=url, token=make_user(hub, "alice").token)
    repo_id = api.create_repo("lfs-model").repo_id
    api.upload_file(path_or_fileobj=os.urandom(300_000), path_in_repo="w.bin", repo_id=repo_id)
    return api, repo_id


def conversion_jobs(hub: Any) -> list[Job]:
    with hub.sessions() as session:
        return list(session.query(Job).filter(Job.kind == "xet.convert"))


def converted(api: HfApi, repo_id: str) -> bool:
    return api.get_paths_info(repo_id, ["w.bin"])[0].xet_hash is not None


def test_serve_no_worker_leaves_jobs_queued_for_a_worker_process(hub: Any, tmp_path: Path, spawn: Any) -> None:
    server, url = serve(spawn, "--no-worker")
    api, repo_id = upload_lfs_file(hub, url, tmp_path)
    (job,) = conversion_jobs(hub)
    time.sleep(1.5)  # fifteen polls of an in-process worker, had there been one

    assert load(hub, job.id).state == JobState.QUEUED
    assert not converted(api, repo_id)

    started_worker(spawn)
    wait_until(lambda: load(hub, job.id).state == JobState.SUCCEEDED, what="the conversion")
    assert converted(api, repo_id)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(30) in CLEAN_EXIT


def test_serve_runs_jobs_in_process_and_stops_cleanly(hub: Any, tmp_path: Path, spawn: Any) -> None:
    server, url = serve(spawn)
    api, repo_id = upload_lfs_file(hub, url, tmp_path)

    wait_until(lambda: converted(api, repo_id), what="the conversion")
    (job,) = conversion_jobs(hub)
    assert load(hub, job.id).state == JobState.SUCCEEDED

    long_job = enqueue(hub, "test.block", {"dir": str(tmp_path)})
    wait_until((tmp_path / "started-1").exists, what="the job to start")
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(30) in CLEAN_EXIT, server.text()
    assert load(hub, long_job).state == JobState.QUEUED  # handed back as the server stopped


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append((int(entry.name), cmdline))
    return found


def test_serve_with_several_processes_runs_one_worker_beside_them(hub: Any, tmp_path: Path, spawn: Any) -> None:
    server, url = serve(spawn, "--workers", "2")
    api, repo_id = upload_lfs_file(hub, url, tmp_path)

    wait_until(lambda: converted(api, repo_id), what="the conversion")
    workers = [pid for pid, cmdline in _children(server.pid) if cmdline.rstrip().endswith(" worker")]
    assert len(workers) == 1
    (job,) = conversion_jobs(hub)
    assert load(hub, job.id).worker_id.split(":")[1] == str(workers[0])  # run by that process

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(60) in CLEAN_EXIT, server.text()
    wait_until(lambda: not Path(f"/proc/{workers[0]}").exists(), timeout=10, what="the worker to exit")
