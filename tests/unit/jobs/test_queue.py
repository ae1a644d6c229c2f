"""DbJobQueue on every database backend: enqueueing in the caller's transaction, claims, leases, back-off,
cancellation, retries and the log, with a clock moved by hand."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hubstead.errors import ConflictError, InvalidInputError, JobNotFoundError
from hubstead.jobs.models import Job, JobState
from hubstead.jobs.services import LOG_TRIMMED, Backoff, Claim, DbJobQueue, JobFilter, trim_log
from tests.unit.jobs.conftest import FakeClock

KINDS = ["test.record"]


@pytest.fixture
def queue(hub: Any, clock: FakeClock) -> DbJobQueue:
    return DbJobQueue(hub.sessions, hub.tasks, hub.settings.jobs, clock=clock, rand=lambda: 0.0)


def enqueue(hub: Any, queue: DbJobQueue, kind: str = "test.record", payload: Any = None, **options: Any) -> int:
    with hub.sessions.begin() as session:
        return queue.enqueue(session, kind, payload or {}, **options).id


def load(hub: Any, job_id: int) -> Job:
    with hub.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def claim(queue: DbJobQueue, worker: str, kinds: list[str] = KINDS) -> Claim:
    claimed = queue.claim(kinds, worker)
    assert claimed is not None
    return claimed


# --- enqueueing --------------------------------------------------------------------------------------------


def test_a_job_enqueued_in_a_transaction_that_rolls_back_does_not_exist(hub: Any, queue: DbJobQueue) -> None:
    session = hub.sessions()
    session.begin()
    queue.enqueue(session, "test.record", {"n": 1})
    assert session.scalar(select(func.count()).select_from(Job)) == 1  # visible inside the transaction
    session.rollback()
    session.close()

    with hub.sessions() as fresh:
        assert fresh.scalar(select(func.count()).select_from(Job)) == 0
    assert queue.claim(KINDS, "w") is None

    committed = enqueue(hub, queue, payload={"n": 2})
    assert claim(queue, "w").job_id == committed


def test_the_same_work_is_queued_once_while_a_job_for_it_is_pending(hub: Any, queue: DbJobQueue) -> None:
    first = enqueue(hub, queue, dedup_key="work:1")
    with hub.sessions.begin() as session:
        again = queue.enqueue(session, "test.record", {}, dedup_key="work:1").id
        also = queue.enqueue(session, "test.record", {}, dedup_key="work:1").id
    assert first == again == also

    held = claim(queue, "w")
    assert enqueue(hub, queue, dedup_key="work:1") == first  # running is pending too
    assert enqueue(hub, queue, dedup_key="work:2") != first
    queue.succeed(held, "")

    after = enqueue(hub, queue, dedup_key="work:1")
    assert after != first
    with hub.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.dedup_key == "work:1")) == 2


@pytest.mark.parametrize(
    ("kind", "payload", "error"),
    [
        ("no.such.kind", {}, ValueError),
        ("test.record", {"x": object()}, InvalidInputError),
        ("test.record", {"x": float("nan")}, InvalidInputError),
        ("test.record", {"x": "y" * 70_000}, InvalidInputError),
        ("test.record", ["not", "an", "object"], InvalidInputError),
    ],
)
def test_unknown_kinds_and_payloads_that_are_not_small_json_objects_are_refused(
    hub: Any, queue: DbJobQueue, kind: str, payload: Any, error: type[Exception]
) -> None:
    with hub.sessions.begin() as session, pytest.raises(error):
        queue.enqueue(session, kind, payload)


# --- claiming ------------------------------------------------------------------------------------------------


def test_concurrent_claimers_take_disjoint_jobs(hub: Any, queue: DbJobQueue) -> None:
    with hub.sessions.begin() as session:
        ids = [queue.enqueue(session, "test.record", {"n": n}).id for n in range(40)]
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def claimer(name: str) -> None:
        start.wait()
        while (held := queue.claim(KINDS, name)) is not None:
            with lock:
                claimed.append(held.job_id)
            assert queue.succeed(held, "")

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(claimed) == sorted(ids)  # each job exactly once
    with hub.sessions() as session:
        states = session.scalars(select(Job.state)).all()
    assert set(states) == {JobState.SUCCEEDED}


def test_higher_priority_comes_first_then_the_oldest(hub: Any, queue: DbJobQueue) -> None:
    low = enqueue(hub, queue, priority=-1)
    old = enqueue(hub, queue)
    new = enqueue(hub, queue)
    urgent = enqueue(hub, queue, priority=5)

    order = [claim(queue, "w").job_id for _ in range(4)]

    assert order == [urgent, old, new, low]


def test_a_delayed_job_waits_for_its_time(hub: Any, queue: DbJobQueue, clock: FakeClock) -> None:
    enqueue(hub, queue, delay_seconds=30)
    clock.advance(29)
    assert queue.claim(KINDS, "w") is None
    clock.advance(1)
    assert queue.claim(KINDS, "w") is not None


def test_only_the_kinds_asked_for_are_claimed(hub: Any, queue: DbJobQueue) -> None:
    train = enqueue(hub, queue, "test.train")
    assert queue.claim(KINDS, "w") is None
    assert claim(queue, "w", ["test.train"]).job_id == train


# --- leases --------------------------------------------------------------------------------------------------


def test_a_job_whose_worker_stopped_answering_is_claimed_again_after_its_lease(
    hub: Any, queue: DbJobQueue, clock: FakeClock
) -> None:
    job_id = enqueue(hub, queue)
    first = claim(queue, "a")
    clock.advance(1.9)
    assert queue.claim(KINDS, "b") is None  # the lease (2 s) still holds

    clock.advance(0.2)
    second = claim(queue, "b")

    assert (second.job_id, second.attempt, second.lost_worker) == (job_id, 2, "a")
    # the first worker, back from the dead, can no longer write anything
    assert queue.report(first, 0.9, "late", "late log") is False
    assert queue.succeed(first, "late") is False
    assert queue.heartbeat(first) is None
    assert queue.fail(first, "late", "") is None
    assert queue.succeed(second, "done\n") is True
    job = load(hub, job_id)
    assert (job.state, job.attempts, job.worker_id, job.log) == (JobState.SUCCEEDED, 2, "b", "done\n")


def test_a_heartbeat_renews_the_lease(hub: Any, queue: DbJobQueue, clock: FakeClock) -> None:
    enqueue(hub, queue)
    held = claim(queue, "a")
    clock.advance(1.5)
    assert queue.heartbeat(held) is False  # still held, no cancellation asked
    clock.advance(1.5)
    assert queue.claim(KINDS, "b") is None  # 3 s after the claim, 1.5 s after the heartbeat
    clock.advance(0.6)
    assert queue.claim(KINDS, "b") is not None


def test_a_job_whose_worker_died_on_its_last_attempt_fails(hub: Any, queue: DbJobQueue, clock: FakeClock) -> None:
    job_id = enqueue(hub, queue)  # test.record: 3 attempts
    for worker in ("a", "b", "c"):
        claim(queue, worker)
        clock.advance(3)

    assert queue.claim(KINDS, "d") is None

    job = load(hub, job_id)
    assert job.state == JobState.FAILED
    assert job.attempts == 3
    assert job.error == "The worker c stopped renewing its lease during attempt 3"
    assert job.finished_at == clock.now


def test_a_running_job_asked_to_stop_whose_worker_died_is_cancelled(
    hub: Any, queue: DbJobQueue, clock: FakeClock
) -> None:
    job_id = enqueue(hub, queue)
    claim(queue, "a")
    with hub.sessions.begin() as session:
        queue.cancel(session, job_id)
    clock.advance(3)

    assert queue.claim(KINDS, "b") is None
    assert load(hub, job_id).state == JobState.CANCELLED


# --- back-off and failures -------------------------------------------------------------------------------


def test_failed_attempts_wait_out_an_exponential_back_off(hub: Any, queue: DbJobQueue, clock: FakeClock) -> None:
    job_id = enqueue(hub, queue)  # base 10 s, no jitter (rand 0)
    for attempt, wait in [(1, 10), (2, 20)]:
        held = claim(queue, "w")
        assert held.attempt == attempt
        assert queue.fail(held, f"error {attempt}", held.log + f"attempt {attempt}\n") == JobState.QUEUED
        job = load(hub, job_id)
        assert job.run_after - clock.now == timedelta(seconds=wait)
        assert (job.error, job.worker_id) == (f"error {attempt}", None)
        clock.advance(wait - 0.5)
        assert queue.claim(KINDS, "w") is None
        clock.advance(0.5)

    last = claim(queue, "w")
    assert queue.fail(last, "error 3", last.log + "attempt 3\n") == JobState.FAILED

    job = load(hub, job_id)
    assert (job.state, job.attempts, job.error, job.finished_at) == (JobState.FAILED, 3, "error 3", clock.now)
    assert job.log.splitlines()[0::2] == ["attempt 1", "attempt 2", "attempt 3"]  # with "retrying in" between
    assert "retrying in 10.0 s" in job.log
    assert "retrying in 20.0 s" in job.log


@pytest.mark.parametrize(("attempt", "rand", "seconds"), [(1, 1.0, 5), (1, 0.5, 7.5), (3, 0.0, 40), (20, 0.0, 300)])
def test_the_back_off_doubles_up_to_its_cap_with_jitter(attempt: int, rand: float, seconds: float) -> None:
    assert Backoff(10, 300, jitter=0.5).delay(attempt, rand) == seconds


def test_a_failure_without_retry_fails_at_once(hub: Any, queue: DbJobQueue) -> None:
    job_id = enqueue(hub, queue)
    held = claim(queue, "w")
    assert queue.fail(held, "bad payload", "", retry=False) == JobState.FAILED
    assert load(hub, job_id).attempts == 1


def test_a_released_job_is_queued_again_without_counting_the_attempt(hub: Any, queue: DbJobQueue) -> None:
    job_id = enqueue(hub, queue)
    held = claim(queue, "w")
    assert queue.release(held, "handed back\n")
    job = load(hub, job_id)
    assert (job.state, job.attempts, job.worker_id, job.log) == (JobState.QUEUED, 0, None, "handed back\n")
    assert claim(queue, "v").attempt == 1


# --- cancellation and retries ----------------------------------------------------------------------------


def test_a_queued_job_is_cancelled_at_once_and_can_be_retried(hub: Any, queue: DbJobQueue) -> None:
    job_id = enqueue(hub, queue)
    with hub.sessions.begin() as session:
        assert queue.cancel(session, job_id).state == JobState.CANCELLED
    assert queue.claim(KINDS, "w") is None
    with hub.sessions.begin() as session, pytest.raises(ConflictError):
        queue.cancel(session, job_id)

    with hub.sessions.begin() as session:
        retried = queue.retry(session, job_id)
        assert (retried.state, retried.attempts, retried.finished_at) == (JobState.QUEUED, 0, None)
    assert claim(queue, "w").job_id == job_id
    assert "cancelled by an administrator" in load(hub, job_id).log


def test_a_running_job_is_asked_to_stop(hub: Any, queue: DbJobQueue) -> None:
    job_id = enqueue(hub, queue)
    held = claim(queue, "w")
    assert queue.cancel_requested(held) is False
    with hub.sessions.begin() as session:
        job = queue.cancel(session, job_id)
        assert (job.state, job.cancel_requested) == (JobState.RUNNING, True)

    assert queue.heartbeat(held) is True
    assert queue.cancel_requested(held) is True
    assert queue.fail(held, "stopped", "") == JobState.CANCELLED  # a failure after a cancellation is no retry


@pytest.mark.parametrize("state", ["queued", "running", "succeeded"])
def test_only_failed_or_cancelled_jobs_can_be_retried(hub: Any, queue: DbJobQueue, state: str) -> None:
    job_id = enqueue(hub, queue)
    if state != "queued":
        held = claim(queue, "w")
        if state == "succeeded":
            queue.succeed(held, "")
    with hub.sessions.begin() as session, pytest.raises(ConflictError):
        queue.retry(session, job_id)


def test_a_retry_is_refused_while_the_same_work_is_pending_again(hub: Any, queue: DbJobQueue) -> None:
    job_id = enqueue(hub, queue, dedup_key="same")
    with hub.sessions.begin() as session:
        queue.cancel(session, job_id)
    enqueue(hub, queue, dedup_key="same")

    with hub.sessions.begin() as session, pytest.raises(ConflictError):
        queue.retry(session, job_id)


def test_unknown_jobs_are_not_found(hub: Any, queue: DbJobQueue) -> None:
    with hub.sessions.begin() as session:
        for action in (queue.cancel, queue.retry, queue.get_job):
            with pytest.raises(JobNotFoundError):
                action(session, 12345)


# --- logs, listings, pruning ----------------------------------------------------------------------------


def test_the_log_keeps_its_last_bytes_at_a_line_start() -> None:
    log = "".join(f"line {n:04d}\n" for n in range(500))

    kept = trim_log(log, 1024)

    assert len(kept.encode()) <= 1024
    assert kept.startswith(LOG_TRIMMED)
    assert kept[len(LOG_TRIMMED) :].startswith("line ")
    assert kept.endswith("line 0499\n")
    assert trim_log("short\n", 1024) == "short\n"


def test_a_job_stores_a_bounded_log(hub: Any, queue: DbJobQueue) -> None:
    job_id = enqueue(hub, queue)
    held = claim(queue, "w")
    queue.report(held, 0.5, "half", "x" * 200_000 + "\nthe end\n")

    job = load(hub, job_id)
    assert len(job.log.encode()) <= hub.settings.jobs.log_max_bytes
    assert job.log.endswith("the end\n")
    assert (job.progress, job.progress_message) == (0.5, "half")


def test_listing_filters_by_state_and_kind_newest_first(hub: Any, queue: DbJobQueue) -> None:
    ids = [enqueue(hub, queue) for _ in range(5)]
    train = enqueue(hub, queue, "test.train")
    queue.succeed(claim(queue, "w"), "")  # the oldest

    with hub.sessions() as session:
        every = [j.id for j in queue.list_jobs(session, JobFilter())]
        queued = [j.id for j in queue.list_jobs(session, JobFilter(states=[JobState.QUEUED], kind="test.record"))]
        page = [j.id for j in queue.list_jobs(session, JobFilter(before=ids[3], limit=2))]
        counts = queue.count_by_state(session)

    assert every == [train, *reversed(ids)]
    assert queued == list(reversed(ids[1:]))
    assert page == [ids[2], ids[1]]
    assert counts == {JobState.QUEUED: 5, JobState.SUCCEEDED: 1}


def test_finished_jobs_are_pruned_after_the_retention(hub: Any, queue: DbJobQueue, clock: FakeClock) -> None:
    done = enqueue(hub, queue)
    queue.succeed(claim(queue, "w"), "")
    waiting = enqueue(hub, queue)
    clock.advance(3600)

    assert queue.prune(clock.now - timedelta(minutes=30)) == 1

    with hub.sessions() as session:
        assert session.get(Job, done) is None
        assert session.get(Job, waiting) is not None
