"""The worker: threads that claim jobs and run their handlers, renew their leases, report their progress, and
stop gracefully (running jobs get a grace period to finish, then are told to stop and handed back).

``hubstead worker`` runs one in its own process, on any machine that reaches the database and the blob store;
``hubstead serve`` runs one in-process by default. Idle threads poll the queue every ``poll_seconds``, and wake
at once when a job is committed in the same process (the queue's ``Doorbell``)."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from hubstead.config import JobSettings
from hubstead.db.base import utcnow
from hubstead.errors import JobCancelledError, JobFailedError
from hubstead.jobs.services import Claim, Doorbell, JobQueue, trim_log
from hubstead.jobs.tasks import Adapters, Task, TaskRegistry

log = logging.getLogger("hubstead.jobs")
FLUSH_SECONDS = 0.5  # progress and log lines reach the database at most this often per job
CANCEL_CHECK_SECONDS = 1.0  # cancelled() asks the database at most this often
PRUNE_EVERY_SECONDS = 3600.0
STOP_MESSAGES = {
    "cancelled": "cancelled by an administrator",
    "timeout": "timed out",
    "shutdown": "the worker is stopping",
    "lost": "another worker took the job over (this worker's lease expired)",
}


def _stamp() -> str:
    return utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


class RunningJob:
    """The ``JobContext`` of one claimed job: its payload, and progress, log and cancellation through the queue."""

    def __init__(self, queue: JobQueue, claim: Claim, task: Task, adapters: Adapters, log_max_bytes: int) -> None:
        self.queue = queue
        self._log_max = log_max_bytes
        self.claim = claim
        self.task = task
        self._adapters = adapters
        self._lock = threading.Lock()
        self._log = claim.log
        self._progress, self._message = 0.0, ""
        self._dirty, self._written_at = False, 0.0
        self._checked_at = time.monotonic()
        self._deadline = None if task.timeout_seconds is None else time.monotonic() + task.timeout_seconds
        self.stop_reason: str | None = None

    @property
    def adapters(self) -> Adapters:
        return self._adapters

    @property
    def job_id(self) -> int:
        return self.claim.job_id

    @property
    def kind(self) -> str:
        return self.claim.kind

    @property
    def payload(self) -> dict[str, Any]:
        return self.claim.payload

    @property
    def attempt(self) -> int:
        return self.claim.attempt

    @property
    def full_log(self) -> str:
        with self._lock:
            return self._log

    def progress(self, fraction: float, message: str = "") -> None:
        with self._lock:
            self._progress, self._message, self._dirty = min(1.0, max(0.0, fraction)), message, True
        self.flush()

    def log(self, line: str) -> None:
        self.note(line)
        self.flush()

    def note(self, line: str) -> None:
        """Add a line to the log without writing it yet (the worker's closing lines go with the result)."""
        with self._lock:
            self._log += f"{_stamp()} {line.rstrip()}\n"
            if len(self._log) > 2 * self._log_max:  # a chatty handler: keep only what the database will keep
                self._log = trim_log(self._log, self._log_max)
            self._dirty = True

    def flush(self, *, force: bool = False) -> None:
        """Write progress and log if they changed and the last write is old enough (or ``force``)."""
        with self._lock:
            if not self._dirty or (not force and time.monotonic() - self._written_at < FLUSH_SECONDS):
                return
            progress, message, text = self._progress, self._message, self._log
            self._dirty, self._written_at = False, time.monotonic()
        try:
            held = self.queue.report(self.claim, progress, message, text)
        except OperationalError as exc:  # the database is busy or away: a report is not worth failing the job
            log.warning("job %d: progress not recorded this time: %s", self.claim.job_id, exc.orig)
            with self._lock:
                self._dirty = True
            return
        if not held:
            self.stop("lost")

    def stop(self, reason: str) -> None:
        """Tell the handler to stop (the first reason given is the one kept)."""
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason

    def check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            self.stop("timeout")

    def cancelled(self) -> bool:
        self.check_deadline()
        if self.stop_reason is None and time.monotonic() - self._checked_at >= CANCEL_CHECK_SECONDS:
            self._checked_at = time.monotonic()
            with contextlib.suppress(OperationalError):  # asked again at the next check, or by the heartbeat
                self.apply(self.queue.cancel_requested(self.claim))
        return self.stop_reason is not None

    def apply(self, cancel_requested: bool | None) -> None:
        """What the queue said about the claim: lost (None), or whether cancellation was asked."""
        if cancel_requested is None:
            self.stop("lost")
        elif cancel_requested:
            self.stop("cancelled")

    def check_cancelled(self) -> None:
        if self.cancelled():
            raise JobCancelledError(STOP_MESSAGES.get(self.stop_reason or "", "stopped"))


class Worker:
    """Runs the jobs of ``kinds`` (pools or job kinds; default: the default pool) in ``concurrency`` threads."""

    def __init__(
        self,
        queue: JobQueue,
        tasks: TaskRegistry,
        adapters: Adapters,
        settings: JobSettings,
        *,
        kinds: Sequence[str] | None = None,
        concurrency: int | None = None,
        doorbell: Doorbell | None = None,
        name: str | None = None,
    ) -> None:
        self.queue = queue
        self.tasks = tasks
        self.adapters = adapters
        self.settings = settings
        self.kinds = tasks.select(settings.kinds if kinds is None else kinds)
        self.concurrency = concurrency or settings.concurrency
        self.doorbell = doorbell or Doorbell()
        self.worker_id = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._running: dict[int, RunningJob] = {}
        self._claiming = threading.Lock()
        self._stopping = threading.Event()  # no new claims
        self._closed = threading.Event()  # housekeeping ends too
        self._threads: list[threading.Thread] = []
        self._housekeeper: threading.Thread | None = None
        self._pruned_at = 0.0

    # --- running jobs ----------------------------------------------------------------------------------

    def start(self) -> Worker:
        self._start_housekeeping()
        for index in range(self.concurrency):
            thread = threading.Thread(target=self._loop, args=(index,), name=f"hubstead-job-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("worker %s runs %s with %d thread(s)", self.worker_id, ", ".join(self.kinds), self.concurrency)
        return self

    def _loop(self, index: int) -> None:
        worker_id = f"{self.worker_id}/{index}"
        while not self._stopping.is_set():
            seen = self.doorbell.rings
            try:
                ran = self.run_one(worker_id)
            except Exception:  # the database went away, say: keep trying, slowly
                log.exception("worker %s could not claim or settle a job", worker_id)
                ran = False
                self._stopping.wait(self.settings.poll_seconds)
            if not ran:
                self.doorbell.wait(seen, self.settings.poll_seconds)

    def run_one(self, worker_id: str | None = None) -> bool:
        """Claim one job and run it in this thread; False if there was none to claim."""
        with self._claiming:  # so that per-worker limits (max_per_worker) hold across this worker's threads
            claim = self.queue.claim(self._open_kinds(), worker_id or f"{self.worker_id}/0")
            if claim is None:
                return False
            job = RunningJob(self.queue, claim, self.tasks.get(claim.kind), self.adapters, self.settings.log_max_bytes)
            self._running[claim.job_id] = job
        try:
            self._run(job)
        finally:
            self._running.pop(claim.job_id, None)
        return True

    def _open_kinds(self) -> list[str]:
        busy: dict[str, int] = {}
        for job in list(self._running.values()):
            busy[job.kind] = busy.get(job.kind, 0) + 1
        return [k for k in self.kinds if (limit := self.tasks.get(k).max_per_worker) is None or busy.get(k, 0) < limit]

    def _run(self, job: RunningJob) -> None:
        claim = job.claim
        if claim.lost_worker:
            job.log(f"the worker {claim.lost_worker} stopped renewing its lease: running the job again")
        job.log(f"attempt {claim.attempt} of {claim.max_attempts} started on {claim.worker_id}")
        error: BaseException | None = None
        try:
            job.task.handler(job)
        except Exception as exc:
            error = exc
        except BaseException:
            job.stop("shutdown")  # interpreter exiting: hand the job back
            self._settle(job, JobCancelledError("stopped"))
            raise
        self._settle(job, error)

    def _settle(self, job: RunningJob, error: BaseException | None) -> None:
        """Record how the attempt ended. A handler told to stop is never counted as succeeded, even if it returned
        quietly: handed back (worker stopping), cancelled, or failed (timed out)."""
        queue, claim, reason = self.queue, job.claim, job.stop_reason
        if reason == "lost":
            log.warning("job %d: lost to another worker; its result is not recorded", claim.job_id)
        elif reason == "shutdown":
            job.note("handed back: the worker is stopping")
            queue.release(claim, job.full_log)
        elif reason == "timeout":
            message = f"timed out after {job.task.timeout_seconds:g} s"
            job.note(message)
            queue.fail(claim, message, job.full_log)
        elif reason == "cancelled" or isinstance(error, JobCancelledError):
            job.note("cancelled by an administrator" if reason == "cancelled" else f"cancelled: {error}")
            queue.mark_cancelled(claim, job.full_log)
        elif error is None:
            job.note("succeeded")
            queue.succeed(claim, job.full_log)
        else:
            self._record_failure(job, error)

    def _record_failure(self, job: RunningJob, error: BaseException) -> None:
        claim, permanent = job.claim, isinstance(error, JobFailedError)
        message = f"{type(error).__name__}: {error}"
        if not permanent:
            job.note("".join(traceback.format_exception(error)).rstrip())
        job.note(f"failed: {message}")
        state = self.queue.fail(claim, message, job.full_log, retry=not permanent)
        log.warning("job %d (%s) attempt %d failed: %s -> %s", claim.job_id, claim.kind, claim.attempt, message, state)

    # --- leases, progress, pruning -------------------------------------------------------------------------

    def _start_housekeeping(self) -> None:
        if self._housekeeper is None:
            self._housekeeper = threading.Thread(target=self._housekeeping, name="hubstead-job-leases", daemon=True)
            self._housekeeper.start()

    def _housekeeping(self) -> None:
        while not self._closed.wait(self.settings.heartbeat_seconds):
            try:
                self.heartbeat()
                self._prune()
            except Exception:
                log.exception("worker %s could not renew its leases", self.worker_id)

    def heartbeat(self) -> None:
        """Renew every running job's lease, pass on cancellations and timeouts, write pending progress."""
        for job in list(self._running.values()):
            job.check_deadline()
            try:
                job.apply(self.queue.heartbeat(job.claim))
            except OperationalError as exc:  # tried again at the next beat, well within the lease
                log.warning("job %d: lease not renewed this time: %s", job.claim.job_id, exc.orig)
            job.flush()

    def _prune(self) -> None:
        days = self.settings.retention_days
        if not days or time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        pruned = self.queue.prune(utcnow() - timedelta(days=days))
        if pruned:
            log.info("deleted %d job(s) finished more than %g day(s) ago", pruned, days)

    # --- stopping ---------------------------------------------------------------------------------------

    @property
    def running(self) -> list[RunningJob]:
        return list(self._running.values())

    def hurry(self) -> None:
        """Tell running jobs to stop now (they are handed back as they stop)."""
        for job in self.running:
            job.stop("shutdown")

    def stop(self, grace: float | None = None, timeout: float = 30.0) -> None:
        """Claim nothing more; give running jobs ``grace`` seconds (default: the settings') to finish, then tell
        them to stop and wait up to ``timeout`` more for their handlers to return and hand them back. A handler
        that never checks ``cancelled()`` is left behind (its lease expires and another worker runs it again)."""
        self._stopping.set()
        self.doorbell.ring()
        grace = self.settings.shutdown_grace_seconds if grace is None else grace
        deadline = time.monotonic() + grace
        while self._running and time.monotonic() < deadline:
            time.sleep(0.05)
        self.hurry()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.close()

    def close(self) -> None:
        self._closed.set()
        if self._housekeeper is not None and self._housekeeper is not threading.current_thread():
            self._housekeeper.join(5)

    def drain(self, timeout: float | None = None) -> None:
        """Run jobs in this thread until none of this worker's kinds may be claimed now or runs anywhere (tests,
        and scripts that want the queue empty). Jobs waiting for a retry's back-off are not waited for."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._start_housekeeping()
        while True:
            if self.run_one(f"{self.worker_id}/drain"):
                continue
            if not self.queue.has_work(self.kinds, running_too=True):
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"jobs still pending after {timeout} s")
            time.sleep(0.05)
