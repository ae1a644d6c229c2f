"""The worker in this process, on every database backend: handlers run with their context (progress, log,
cancellation, timeouts), failures are retried or recorded, per-worker limits hold, and a stopping worker
finishes or hands back what it runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hubstead.jobs.models import Job, JobState
from hubstead.jobs.services import DbJobQueue
from hubstead.jobs.worker import Worker
from tests.unit.jobs import tasks_for_tests
from tests.unit.jobs.conftest import FakeClock


def enqueue(hub: Any, kind: str, payload: dict[str, Any] | None = None, queue: Any = None, **options: Any) -> int:
    with hub.sessions.begin() as session:
        return (queue or hub.jobs).enqueue(session, kind, payload or {}, **options).id


def load(hub: Any, job_id: int) -> Job:
    with hub.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def wait_for_state(hub: Any, job_id: int, *states: JobState, timeout: float = 20.0) -> Job:
    wait_until(lambda: load(hub, job_id).state in states, timeout)
    return load(hub, job_id)


@pytest.fixture
def running(hub: Any) -> Iterator[Callable[..., Worker]]:
    """Start workers over the hub's queue; all stopped after the test."""
    started: list[Worker] = []

    def start(**options: Any) -> Worker:
        worker = hub.make_worker(**options).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(grace=0, timeout=10)


def test_a_handler_gets_its_payload_and_its_job_succeeds(hub: Any, tmp_path: Path) -> None:
    path = tmp_path / "runs"
    job_id = enqueue(hub, "test.record", {"path": str(path)})

    hub.wait_for_jobs(20)

    job = load(hub, job_id)
    assert (job.state, job.attempts, job.progress, job.error) == (JobState.SUCCEEDED, 1, 1.0, None)
    assert path.read_text().split()[:2] == [str(job_id), "1"]
    assert "attempt 1 of 3 started on" in job.log
    assert job.log.rstrip().endswith("succeeded")
    assert job.started_at is not None
    assert job.finished_at is not None


def test_after_its_last_attempt_a_job_fails_with_its_error_and_its_whole_log(hub: Any, clock: FakeClock) -> None:
    queue = DbJobQueue(hub.sessions, hub.tasks, hub.settings.jobs, clock=clock, rand=lambda: 0.0)
    worker = Worker(queue, hub.tasks, hub.adapters, hub.settings.jobs, kinds=["test.fail"])
    job_id = enqueue(hub, "test.fail", queue=queue)

    for wait in (10, 20):
        assert worker.run_one()
        assert load(hub, job_id).state == JobState.QUEUED
        assert not worker.run_one()  # backing off
        clock.advance(wait)
    assert worker.run_one()
    worker.close()

    job = load(hub, job_id)
    assert (job.state, job.attempts) == (JobState.FAILED, 3)
    assert job.error == "RuntimeError: boom on attempt 3"
    for line in ("about to fail, attempt 1", "about to fail, attempt 3", "retrying in 10.0 s", "retrying in 20.0 s"):
        assert line in job.log
    assert "Traceback (most recent call last)" in job.log
    assert 'raise RuntimeError(f"boom on attempt {ctx.attempt}")' in job.log


def test_a_chatty_handler_keeps_only_the_end_of_its_log(hub: Any) -> None:
    job_id = enqueue(hub, "test.fail", {"chatter": 5000})  # ~600 KiB of lines per attempt
    worker = hub.make_worker(kinds=["test.fail"])
    assert worker.run_one()
    worker.close()

    log = load(hub, job_id).log
    assert len(log.encode()) <= hub.settings.jobs.log_max_bytes
    assert "chatter line 004999" in log
    assert "chatter line 000000" not in log
    assert "about to fail, attempt 1" in log


def test_a_job_that_cannot_succeed_fails_without_retries(hub: Any) -> None:
    job_id = enqueue(hub, "test.permanent")
    hub.wait_for_jobs(20)
    job = load(hub, job_id)
    assert (job.state, job.attempts, job.error) == (
        JobState.FAILED,
        1,
        "JobFailedError: this payload can never work",
    )


def test_a_running_job_stops_at_its_next_check_when_cancelled(hub: Any, tmp_path: Path, running: Any) -> None:
    job_id = enqueue(hub, "test.block", {"dir": str(tmp_path)})
    running()
    wait_until((tmp_path / "started-1").exists)

    with hub.sessions.begin() as session:
        hub.jobs.cancel(session, job_id)
    job = wait_for_state(hub, job_id, JobState.CANCELLED, timeout=10)

    assert job.attempts == 1
    assert job.log.rstrip().endswith("cancelled by an administrator")
    assert not (tmp_path / "started-2").exists()


def test_progress_and_log_reach_the_database_while_the_handler_runs(hub: Any, tmp_path: Path, running: Any) -> None:
    job_id = enqueue(hub, "test.progress", {"dir": str(tmp_path)})
    running()
    wait_until((tmp_path / "reported").exists)

    # written in their own short transactions: readable now, and the database is free for other writers
    wait_until(lambda: "half-way there" in load(hub, job_id).log, timeout=5)
    job = load(hub, job_id)
    assert (job.state, job.progress, job.progress_message) == (JobState.RUNNING, 0.5, "half-way")
    other = enqueue(hub, "test.train")  # a write while the handler runs: no lock is held open
    assert load(hub, other).state == JobState.QUEUED

    (tmp_path / "go").write_text("")
    assert wait_for_state(hub, job_id, JobState.SUCCEEDED).progress == 1.0


def test_a_timed_out_attempt_fails_and_is_retried(hub: Any, clock: FakeClock) -> None:
    queue = DbJobQueue(hub.sessions, hub.tasks, hub.settings.jobs, clock=clock, rand=lambda: 0.0)
    worker = Worker(queue, hub.tasks, hub.adapters, hub.settings.jobs, kinds=["test.slow"])
    job_id = enqueue(hub, "test.slow", queue=queue)

    started = time.monotonic()
    assert worker.run_one()
    assert 0.5 <= time.monotonic() - started < 5
    job = load(hub, job_id)
    assert (job.state, job.error) == (JobState.QUEUED, "timed out after 0.5 s")

    clock.advance(10)
    assert worker.run_one()
    worker.close()
    assert (load(hub, job_id).state, load(hub, job_id).attempts) == (JobState.FAILED, 2)


def test_a_stopping_worker_hands_its_running_job_back(hub: Any, tmp_path: Path) -> None:
    job_id = enqueue(hub, "test.block", {"dir": str(tmp_path)})
    worker = hub.make_worker().start()
    wait_until((tmp_path / "started-1").exists)

    started = time.monotonic()
    worker.stop(grace=0.2)

    assert time.monotonic() - started < 5
    job = load(hub, job_id)
    assert (job.state, job.attempts, job.worker_id) == (JobState.QUEUED, 0, None)
    assert "handed back: the worker is stopping" in job.log


def test_a_stopping_worker_lets_a_job_finish_within_its_grace(hub: Any, tmp_path: Path) -> None:
    path = tmp_path / "runs"
    job_id = enqueue(hub, "test.record", {"path": str(path), "sleep": 0.5})
    worker = hub.make_worker().start()
    wait_until(lambda: load(hub, job_id).state == JobState.RUNNING)

    worker.stop(grace=10)

    assert load(hub, job_id).state == JobState.SUCCEEDED
    assert path.exists()


def test_a_kind_limited_to_one_per_worker_never_runs_twice_at_once(hub: Any, running: Any) -> None:
    tasks_for_tests.ACTIVE.update(now=0, most=0)
    ids = [enqueue(hub, "test.exclusive") for _ in range(6)]

    running(concurrency=3)
    for job_id in ids:
        wait_for_state(hub, job_id, JobState.SUCCEEDED)

    assert tasks_for_tests.ACTIVE["most"] == 1


def test_several_threads_run_each_job_once(hub: Any, tmp_path: Path, running: Any) -> None:
    path = tmp_path / "runs"
    with hub.sessions.begin() as session:
        ids = [hub.jobs.enqueue(session, "test.record", {"path": str(path), "sleep": 0.01}).id for _ in range(30)]

    running(concurrency=4)
    for job_id in ids:
        wait_for_state(hub, job_id, JobState.SUCCEEDED)

    assert sorted(int(line.split()[0]) for line in path.read_text().splitlines()) == ids


def test_a_worker_runs_only_the_pools_it_is_started_with(hub: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "runs")
    train = enqueue(hub, "test.train", {"path": path})
    default = enqueue(hub, "test.record", {"path": path})

    hub.make_worker().drain(20)
    assert (load(hub, train).state, load(hub, default).state) == (JobState.QUEUED, JobState.SUCCEEDED)

    hub.make_worker(kinds=["train"]).drain(20)
    assert load(hub, train).state == JobState.SUCCEEDED
    assert hub.tasks.select(["train", "test.fail"]) == ["test.fail", "test.train", "train"]  # "train": training jobs
    with pytest.raises(ValueError, match="neither a pool"):
        hub.tasks.select(["no-such-pool"])


def test_a_job_committed_in_this_process_wakes_an_idle_worker_at_once(hub: Any, tmp_path: Path) -> None:
    jobs = hub.settings.jobs.model_copy(update={"poll_seconds": 30})
    worker = Worker(hub.jobs, hub.tasks, hub.adapters, jobs, doorbell=hub.doorbell).start()
    try:
        time.sleep(0.3)  # the worker has looked and found nothing: it waits for 30 s, or the doorbell
        started = time.monotonic()
        job_id = enqueue(hub, "test.record", {"path": str(tmp_path / "runs")})
        wait_for_state(hub, job_id, JobState.SUCCEEDED, timeout=10)
        assert time.monotonic() - started < 5
    finally:
        worker.stop(grace=0)


def test_the_hub_closes_its_in_process_worker(hub: Any, tmp_path: Path) -> None:
    worker = hub.start_worker()
    assert hub.start_worker() is worker  # one per hub
    job_id = enqueue(hub, "test.block", {"dir": str(tmp_path)})
    wait_until((tmp_path / "started-1").exists)

    hub.close()

    assert hub.worker is None
    assert not any(t.is_alive() for t in worker._threads)
    hub_again = type(hub).from_settings(hub.settings)
    try:
        assert load(hub_again, job_id).state == JobState.QUEUED  # handed back, for the next worker
    finally:
        hub_again.close()
