"""The jobs table: work done after a request (Xet conversion, scans, builds, training, mirror syncs, GC), queued in
the same transaction as what caused it and run by workers anywhere that reach the database."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from hubstead.db.base import Base, UTCDateTime, str_enum, utcnow


class JobState(enum.StrEnum):
    QUEUED = "queued"  # waiting for a worker (and for ``run_after``, after a failed attempt)
    RUNNING = "running"  # a worker holds it while its lease lasts
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # out of attempts, or a failure no retry can mend
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED


PENDING = (JobState.QUEUED, JobState.RUNNING)
FINISHED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
# the partial unique index's predicate, as literal SQL: the same text on SQLite and PostgreSQL
PENDING_SQL = "state IN ('queued', 'running')"


class Job(Base):
    """One piece of background work. A worker claims it (``state`` running, ``worker_id``, ``attempts`` + 1 and a
    lease); the claim is (``worker_id``, ``attempts``), so a worker that lost its lease can no longer write."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state_run_after", "state", "run_after"),  # what claimers look at
        Index("ix_jobs_kind_id", "kind", "id"),
        Index("ix_jobs_repo_id_id", "repo_id", "id"),
        # the same work (e.g. converting one object) is queued once while one is pending
        Index(
            "uq_jobs_pending_dedup_key",
            "dedup_key",
            unique=True,
            sqlite_where=text(PENDING_SQL),
            postgresql_where=text(PENDING_SQL),
        ),
        {"sqlite_autoincrement": True},  # ids are never reused (migration 0012)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[JobState] = mapped_column(str_enum(JobState), default=JobState.QUEUED)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # higher first
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # started so far, the running one included
    max_attempts: Mapped[int] = mapped_column(Integer)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # back-off after a failed attempt
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1
    progress_message: Mapped[str] = mapped_column(String(200), default="")
    log: Mapped[str] = mapped_column(Text, default="")  # the last jobs.log_max_bytes of it
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # of the last failed attempt
    worker_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    dedup_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # who or what caused it, for listings and permissions; kept (as NULL) when the repo or account goes
    repo_id: Mapped[int | None] = mapped_column(ForeignKey("repos.id", ondelete="SET NULL"), nullable=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # of the latest attempt
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
