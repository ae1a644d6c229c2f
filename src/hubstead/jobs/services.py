"""The job queue on the hub's database (``DbJobQueue``).

A job is enqueued in the caller's unit of work: it exists if, and only if, the caller's transaction commits.
Workers claim jobs in short transactions of their own: on PostgreSQL with ``SELECT ... FOR UPDATE SKIP LOCKED``
(any number of workers on any number of machines take disjoint jobs); on SQLite inside ``BEGIN IMMEDIATE``,
which makes each claim the only writer of the database for its few statements, across processes. A claim is
the pair (worker id, attempt number) and lasts as long as its lease, which the worker renews; every write a
worker makes is conditional on still holding its claim, so a worker that lost its lease (stalled, or killed)
can never overwrite what the next attempt did.

Time is the workers' clock (``clock``, UTC): hosts running workers keep their clocks in sync (NTP)."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, delete, event, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hubstead.config import JobSettings
from hubstead.db.base import utcnow
from hubstead.errors import ConflictError, InvalidInputError, JobNotFoundError
from hubstead.jobs.models import FINISHED, PENDING, Job, JobState
from hubstead.jobs.tasks import TaskRegistry

Clock = Callable[[], datetime]
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_DEDUP_KEY = 255
LOG_TRIMMED = "[earlier lines dropped]\n"
_RINGS_ON_COMMIT = "hubstead.jobs.doorbell"


class Doorbell:
    """Wakes this process's idle workers when a job is committed here, so they need not wait for their next poll
    (workers elsewhere poll)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._rings = 0

    @property
    def rings(self) -> int:
        return self._rings

    def ring(self) -> None:
        with self._condition:
            self._rings += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        """Until the bell rang since ``seen`` (a value of ``rings``), or ``timeout`` seconds."""
        with self._condition:
            self._condition.wait_for(lambda: self._rings != seen, timeout)


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off with jitter: attempt n waits ``base * 2**(n-1)`` seconds (at most ``cap``), scaled by a
    random factor in [1 - jitter, 1], so that jobs that failed together do not all come back together."""

    base_seconds: float
    cap_seconds: float
    jitter: float = 0.5

    def delay(self, attempt: int, rand: float) -> float:
        raw = min(self.cap_seconds, self.base_seconds * 2.0 ** max(0, min(attempt - 1, 60)))
        return raw * (1 - self.jitter * rand)


@dataclass(frozen=True)
class Claim:
    """A job a worker holds; ``(worker_id, attempt)`` is the claim every write of the worker is conditional on.
    ``lost_worker``: the worker of the previous attempt, when this claim took over a job whose lease expired."""

    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    worker_id: str
    log: str
    lost_worker: str | None = None


@dataclass(frozen=True)
class JobFilter:
    """What the admin listing asks for: newest first, ids below ``before``."""

    states: Sequence[JobState] = ()
    kind: str | None = None
    repo_ids: Sequence[int] | None = None  # None: any; empty: none
    before: int | None = None
    limit: int = 100


class JobQueue(Protocol):
    """Enqueue work in the caller's unit of work; claim, report on and finish it from workers."""

    def enqueue(
        self,
        session: Session,
        kind: str,
        payload: dict[str, Any],
        *,
        dedup_key: str | None = None,
        repo_id: int | None = None,
        account_id: int | None = None,
        priority: int | None = None,
        delay_seconds: float = 0.0,
    ) -> Job: ...

    def claim(self, kinds: Collection[str], worker_id: str) -> Claim | None: ...

    def heartbeat(self, claim: Claim) -> bool | None: ...

    def cancel_requested(self, claim: Claim) -> bool | None: ...

    def report(self, claim: Claim, progress: float, message: str, log: str) -> bool: ...

    def succeed(self, claim: Claim, log: str) -> bool: ...

    def fail(self, claim: Claim, error: str, log: str, *, retry: bool = True) -> JobState | None: ...

    def mark_cancelled(self, claim: Claim, log: str) -> bool: ...

    def release(self, claim: Claim, log: str) -> bool: ...

    def has_work(self, kinds: Collection[str], *, running_too: bool = False) -> bool: ...

    def prune(self, older_than: datetime) -> int: ...

    def get_job(self, session: Session, job_id: int) -> Job: ...

    def list_jobs(self, session: Session, query: JobFilter) -> list[Job]: ...

    def count_by_state(self, session: Session) -> dict[JobState, int]: ...

    def cancel(self, session: Session, job_id: int) -> Job: ...

    def retry(self, session: Session, job_id: int) -> Job: ...


def trim_log(log: str, max_bytes: int) -> str:
    """The last ``max_bytes`` of ``log`` (UTF-8), cut at a line start, marked as cut."""
    data = log.encode()
    if len(data) <= max_bytes:
        return log
    keep = data[len(data) - (max_bytes - len(LOG_TRIMMED)) :]
    newline = keep.find(b"\n")
    if 0 <= newline < len(keep) - 1:
        keep = keep[newline + 1 :]
    return LOG_TRIMMED + keep.decode(errors="ignore")


def _check_payload(payload: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInputError("A job's payload is a JSON object")
    try:
        encoded = json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"A job's payload must be plain JSON: {exc}") from None
    if len(encoded) > MAX_PAYLOAD_BYTES:
        raise InvalidInputError(f"A job's payload is at most {MAX_PAYLOAD_BYTES} bytes of JSON")
    loaded: dict[str, Any] = json.loads(encoded)
    return loaded


class DbJobQueue:
    """The jobs table as a queue (see the module's docstring). Never commits the caller's session; its own short
    transactions (claims, heartbeats, progress, results) come from ``sessions``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        tasks: TaskRegistry,
        settings: JobSettings,
        *,
        doorbell: Doorbell | None = None,
        clock: Clock = utcnow,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.sessions = sessions
        self.tasks = tasks
        self.settings = settings
        self.doorbell = doorbell or Doorbell()
        self.clock = clock
        self.rand = rand
        self.backoff = Backoff(settings.backoff_base_seconds, settings.backoff_max_seconds)
        self.lease = timedelta(seconds=settings.lease_seconds)

    # --- enqueueing, in the caller's unit of work ----------------------------------------------------

    def enqueue(
        self,
        session: Session,
        kind: str,
        payload: dict[str, Any],
        *,
        dedup_key: str | None = None,
        repo_id: int | None = None,
        account_id: int | None = None,
        priority: int | None = None,
        delay_seconds: float = 0.0,
    ) -> Job:
        """Queue a job of a registered kind; it exists once ``session`` commits. With ``dedup_key``, while a job
        with that key is queued or running, that job is returned instead of a new one: the key names the work
        exactly (``xet.convert:<oid>``, ``datasets.convert:<repo>@<sha>``)."""
        task = self.tasks.get(kind)
        if dedup_key is not None and not 0 < len(dedup_key) <= MAX_DEDUP_KEY:
            raise InvalidInputError(f"A job's dedup key is 1 to {MAX_DEDUP_KEY} characters")
        now = self.clock()
        values = {
            "kind": kind,
            "payload": _check_payload(payload),
            "state": JobState.QUEUED,
            "priority": task.priority if priority is None else priority,
            "attempts": 0,
            "max_attempts": task.max_attempts or self.settings.max_attempts,
            "run_after": now + timedelta(seconds=max(0.0, delay_seconds)),
            "progress": 0.0,
            "progress_message": "",
            "log": "",
            "cancel_requested": False,
            "dedup_key": dedup_key,
            "repo_id": repo_id,
            "account_id": account_id,
            "created_at": now,
        }
        job_id = self._insert(session, values)
        self._ring_on_commit(session)
        job = session.get(Job, job_id)
        assert job is not None
        return job

    def _insert(self, session: Session, values: dict[str, Any]) -> int:
        insert = (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)(Job).values(values)
        if values["dedup_key"] is None:
            return int(session.execute(insert.returning(Job.id)).scalar_one())
        # a pending job with the key wins (its insert may be committing right now in another transaction: then
        # this insert waits for it and does nothing); it may also finish in between, hence the loop
        for _ in range(5):
            inserted = session.execute(insert.on_conflict_do_nothing().returning(Job.id)).scalar()
            if inserted is not None:
                return int(inserted)
            pending = session.scalar(select(Job.id).where(Job.dedup_key == values["dedup_key"], Job.state.in_(PENDING)))
            if pending is not None:
                return int(pending)
        raise ConflictError(f"Could not queue job {values['dedup_key']}: it keeps being queued and finished")

    def _ring_on_commit(self, session: Session) -> None:
        """Ring the doorbell once ``session`` commits. After a rollback the listener stays (the flag with it), and
        rings when the session commits something later, a job perhaps: at worst a wasted poll."""
        if session.info.get(_RINGS_ON_COMMIT):
            return
        session.info[_RINGS_ON_COMMIT] = True

        def ring(committed: Session) -> None:
            committed.info.pop(_RINGS_ON_COMMIT, None)
            self.doorbell.ring()

        event.listen(session, "after_commit", ring, once=True)

    # --- claiming --------------------------------------------------------------------------------------

    def _claimable(self, kinds: Collection[str], now: datetime) -> ColumnElement[bool]:
        return and_(
            Job.kind.in_(sorted(kinds)),
            or_(
                and_(Job.state == JobState.QUEUED, Job.run_after <= now),
                and_(Job.state == JobState.RUNNING, Job.lease_expires_at < now),  # its worker is gone
            ),
        )

    def has_work(self, kinds: Collection[str], *, running_too: bool = False) -> bool:
        """Whether a job of ``kinds`` may be claimed now (or, with ``running_too``, is running anywhere)."""
        if not kinds:
            return False
        condition = self._claimable(kinds, self.clock())
        if running_too:
            condition = or_(condition, and_(Job.kind.in_(sorted(kinds)), Job.state == JobState.RUNNING))
        with self.sessions() as session:
            return session.scalar(select(Job.id).where(condition).limit(1)) is not None

    def claim(self, kinds: Collection[str], worker_id: str) -> Claim | None:
        """The most urgent claimable job of ``kinds``, now held by ``worker_id``; None if there is none. A job
        whose worker stopped renewing its lease is claimed again (a new attempt), or failed if it is out of
        attempts, or cancelled if that was asked. Idle polls only read: no write lock is taken for nothing."""
        for _ in range(10):  # a few jobs of dead workers may need settling before one can be run
            if not self.has_work(kinds):
                return None
            settled, claimed = self._claim_one(kinds, worker_id)
            if not settled:
                return claimed
        return None

    def _claim_one(self, kinds: Collection[str], worker_id: str) -> tuple[bool, Claim | None]:
        """(whether a lost job was settled instead, so that the caller should look again; the claim)"""
        now = self.clock()
        with self._write() as session:
            row = session.execute(
                select(Job.id, Job.state, Job.attempts, Job.max_attempts, Job.cancel_requested, Job.worker_id)
                .where(self._claimable(kinds, now))
                .order_by(Job.priority.desc(), Job.run_after, Job.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return False, None
            lost = row.worker_id if row.state == JobState.RUNNING else None
            if lost is not None and (row.cancel_requested or row.attempts >= row.max_attempts):
                self._settle_lost(session, row.id, row.attempts, bool(row.cancel_requested), lost, now)
                return True, None
            claimed = session.execute(
                update(Job)
                .where(Job.id == row.id, Job.state == row.state, Job.attempts == row.attempts)
                .values(
                    state=JobState.RUNNING,
                    attempts=Job.attempts + 1,
                    worker_id=worker_id,
                    lease_expires_at=now + self.lease,
                    heartbeat_at=now,
                    started_at=now,
                    progress=0.0,
                    progress_message="",
                )
                .returning(Job.kind, Job.payload, Job.attempts, Job.max_attempts, Job.log)
            ).first()
        if claimed is None:  # taken meanwhile (cannot happen with the locks above): look again
            return True, None
        payload = dict(claimed.payload)
        return False, Claim(
            row.id, claimed.kind, payload, claimed.attempts, claimed.max_attempts, worker_id, claimed.log, lost
        )

    def _settle_lost(
        self, session: Session, job_id: int, attempts: int, cancel: bool, worker: str, now: datetime
    ) -> None:
        """A job whose worker died on its last attempt (or after it was asked to stop) ends here."""
        error = f"The worker {worker} stopped renewing its lease during attempt {attempts}"
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.RUNNING, Job.attempts == attempts)
            .values(
                state=JobState.CANCELLED if cancel else JobState.FAILED,
                error=None if cancel else error,
                finished_at=now,
                lease_expires_at=None,
                log=func.coalesce(Job.log, "") + f"{_stamp(now)} {error}\n",
            )
        )

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A short transaction that is the database's only writer on SQLite from its first statement (so reading
        then writing can neither race another process nor fail to upgrade its lock); on PostgreSQL rows are
        locked by the statements themselves."""
        with self.sessions() as session, session.begin():
            if _dialect(session) == "sqlite":
                session.execute(text("BEGIN IMMEDIATE"))
            yield session

    # --- while a job runs --------------------------------------------------------------------------------

    def _owned(self, claim: Claim) -> ColumnElement[bool]:
        return and_(
            Job.id == claim.job_id,
            Job.state == JobState.RUNNING,
            Job.worker_id == claim.worker_id,
            Job.attempts == claim.attempt,
        )

    def heartbeat(self, claim: Claim) -> bool | None:
        """Renew the lease; returns whether cancellation was asked, or None if the claim was lost."""
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.execute(
                update(Job)
                .where(self._owned(claim))
                .values(lease_expires_at=now + self.lease, heartbeat_at=now)
                .returning(Job.cancel_requested)
            ).first()
        return None if row is None else bool(row.cancel_requested)

    def cancel_requested(self, claim: Claim) -> bool | None:
        """As ``heartbeat``, reading only."""
        with self.sessions() as session:
            row = session.execute(select(Job.cancel_requested).where(self._owned(claim))).first()
        return None if row is None else bool(row.cancel_requested)

    def report(self, claim: Claim, progress: float, message: str, log: str) -> bool:
        """Progress (0..1), its message and the log so far; False if the claim was lost."""
        values = {
            "progress": min(1.0, max(0.0, progress)),
            "progress_message": message[:200],
            "log": trim_log(log, self.settings.log_max_bytes),
        }
        return self._update_owned(claim, values)

    def succeed(self, claim: Claim, log: str) -> bool:
        return self._finish(claim, JobState.SUCCEEDED, log, progress=1.0, error=None)

    def mark_cancelled(self, claim: Claim, log: str) -> bool:
        return self._finish(claim, JobState.CANCELLED, log)

    def release(self, claim: Claim, log: str) -> bool:
        """Hand a job back unfinished (its worker is stopping): queued again at once, the attempt not counted."""
        values = {
            "state": JobState.QUEUED,
            "attempts": Job.attempts - 1,
            "worker_id": None,
            "lease_expires_at": None,
            "run_after": self.clock(),
            "log": trim_log(log, self.settings.log_max_bytes),
        }
        return self._update_owned(claim, values)

    def fail(self, claim: Claim, error: str, log: str, *, retry: bool = True) -> JobState | None:
        """End a failed attempt: queued again after a back-off while attempts remain (and ``retry``), else failed;
        cancelled if that was asked meanwhile. Returns the new state, None if the claim was lost."""
        now = self.clock()
        with self._write() as session:
            row = session.execute(select(Job.cancel_requested).where(self._owned(claim)).with_for_update()).first()
            if row is None:
                return None
            values: dict[str, Any] = {"error": error[:10_000], "lease_expires_at": None}
            if row.cancel_requested:
                state = JobState.CANCELLED
            elif retry and claim.attempt < claim.max_attempts:
                state = JobState.QUEUED
                delay = self.backoff.delay(claim.attempt, self.rand())
                values |= {"worker_id": None, "run_after": now + timedelta(seconds=delay)}
                log += f"{_stamp(now)} retrying in {delay:.1f} s\n"
            else:
                state = JobState.FAILED
            if state != JobState.QUEUED:
                values["finished_at"] = now
            values |= {"state": state, "log": trim_log(log, self.settings.log_max_bytes)}
            session.execute(update(Job).where(self._owned(claim)).values(values))
        return state

    def _finish(self, claim: Claim, state: JobState, log: str, **values: Any) -> bool:
        values |= {
            "state": state,
            "finished_at": self.clock(),
            "lease_expires_at": None,
            "log": trim_log(log, self.settings.log_max_bytes),
        }
        return self._update_owned(claim, values)

    def _update_owned(self, claim: Claim, values: dict[str, Any]) -> bool:
        with self.sessions.begin() as session:
            return (
                session.execute(update(Job).where(self._owned(claim)).values(values).returning(Job.id)).first()
                is not None
            )

    # --- administration, in the caller's unit of work --------------------------------------------------

    def get_job(self, session: Session, job_id: int) -> Job:
        job = session.get(Job, job_id)
        if job is None:
            raise JobNotFoundError(f"No job {job_id}")
        return job

    def list_jobs(self, session: Session, query: JobFilter) -> list[Job]:
        statement = select(Job).order_by(Job.id.desc()).limit(max(1, min(query.limit, 1000)))
        if query.states:
            statement = statement.where(Job.state.in_(list(query.states)))
        if query.kind:
            statement = statement.where(Job.kind == query.kind)
        if query.repo_ids is not None:
            statement = statement.where(Job.repo_id.in_(list(query.repo_ids)))
        if query.before is not None:
            statement = statement.where(Job.id < query.before)
        return list(session.scalars(statement))

    def count_by_state(self, session: Session) -> dict[JobState, int]:
        rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
        return {JobState(state): int(count) for state, count in rows}

    def cancel(self, session: Session, job_id: int) -> Job:
        """A queued job is cancelled at once; a running one is asked to stop (its handler sees it at its next
        check, its worker at its next heartbeat). A finished job cannot be cancelled."""
        now = self.clock()
        line = f"{_stamp(now)} cancelled by an administrator\n"
        done = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED)
            .values(state=JobState.CANCELLED, finished_at=now, log=Job.log + line)
            .returning(Job.id)
        ).first()
        if done is None:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == JobState.RUNNING)
                .values(cancel_requested=True)  # the log is its worker's to write while it runs
            )
        job = self.get_job(session, job_id)
        session.refresh(job)
        if job.state in FINISHED and done is None:
            raise ConflictError(f"Job {job_id} has already finished ({job.state.value})")
        return job

    def retry(self, session: Session, job_id: int) -> Job:
        """Queue a failed or cancelled job again, with all its attempts (its log is kept)."""
        now = self.clock()
        job = self.get_job(session, job_id)
        if job.state not in (JobState.FAILED, JobState.CANCELLED):
            raise ConflictError(f"Only a failed or cancelled job can be retried; job {job_id} is {job.state.value}")
        if job.dedup_key is not None and session.scalar(
            select(Job.id).where(Job.dedup_key == job.dedup_key, Job.state.in_(PENDING), Job.id != job_id)
        ):
            raise ConflictError(f"The same work is already queued or running ({job.dedup_key})")
        try:
            with session.begin_nested():
                self._requeue(session, job_id, now)
        except IntegrityError:  # the same work was queued meanwhile
            raise ConflictError(f"The same work is already queued or running ({job.dedup_key})") from None
        self._ring_on_commit(session)
        session.refresh(job)
        return job

    def _requeue(self, session: Session, job_id: int, now: datetime) -> None:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state.in_([JobState.FAILED, JobState.CANCELLED]))
            .values(
                state=JobState.QUEUED,
                attempts=0,
                run_after=now,
                cancel_requested=False,
                worker_id=None,
                finished_at=None,
                progress=0.0,
                progress_message="",
                log=Job.log + f"{_stamp(now)} queued again by an administrator\n",
            )
        )

    def prune(self, older_than: datetime) -> int:
        """Delete the jobs that finished before ``older_than``; returns how many."""
        with self.sessions.begin() as session:
            result = session.execute(
                delete(Job).where(Job.state.in_(list(FINISHED)), Job.finished_at < older_than).returning(Job.id)
            )
            return len(result.all())


def _stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
