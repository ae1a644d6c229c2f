"""The ``xet.convert`` job, on every database backend: it converts what the upload recorded, reports its
progress, holds no write transaction while it chunks (on SQLite that would hold back every other writer of the
hub), leaves xorbs that the next attempt reuses when stopped half-way, and never converts an object twice."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hubstead.errors import JobCancelledError
from hubstead.jobs.models import Job, JobState
from hubstead.objects import LfsObject, blob_key
from hubstead.xet.chunking import xet_file_hash_of
from hubstead.xet.convert import convert_lfs_object
from hubstead.xet.models import XetFileXorb, XetLfsConversion, XetXorb
from hubstead.xet.tasks import CONVERT, queue_conversion

MiB = 1024 * 1024


def store_object(hub: Any, content: bytes) -> str:
    """An LFS object as an upload leaves it, its conversion queued in the same unit of work."""
    oid = hashlib.sha256(content).hexdigest()
    hub.blobs.put(blob_key(oid), content)
    with hub.sessions.begin() as session:
        session.add(LfsObject(oid=oid, size=len(content)))
        session.flush()
        queue_conversion(hub.jobs, session, oid)
    return oid


def the_job(hub: Any) -> Job:
    with hub.sessions() as session:
        return session.scalars(select(Job).where(Job.kind == CONVERT)).one()


def xorb_files(hub: Any) -> list[Path]:
    return [p for p in (Path(hub.blobs.root) / "xet" / "xorbs").rglob("*") if p.is_file()]


def wait_until(check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_conversion_job_converts_the_object_and_reports_progress(hub: Any) -> None:
    content = os.urandom(40 * MiB)
    oid = store_object(hub, content)

    hub.wait_for_jobs(120)

    job = the_job(hub)
    assert (job.state, job.progress, job.attempts) == (JobState.SUCCEEDED, 1.0, 1)
    with hub.sessions() as session:
        conversion = session.get(XetLfsConversion, oid)
        assert conversion is not None
        assert conversion.file_hash == xet_file_hash_of(content)
    assert f"converted to Xet file {conversion.file_hash}" in job.log


def test_other_writers_are_not_held_back_while_an_object_is_converted(hub: Any) -> None:
    store_object(hub, os.urandom(96 * MiB))
    worker = hub.make_worker().start()
    try:
        wait_until(lambda: len(xorb_files(hub)) >= 1)  # converting: its first xorb is stored, more to come
        started = time.monotonic()
        with hub.sessions.begin() as session:  # any write: a new LFS object, say
            session.add(LfsObject(oid="0" * 64, size=1))
        waited = time.monotonic() - started
        still_running = the_job(hub).state == JobState.RUNNING
    finally:
        worker.stop(grace=60)
    assert the_job(hub).state == JobState.SUCCEEDED
    assert still_running  # the write really happened during the conversion
    assert waited < 1.0, f"a write waited {waited:.2f} s for the conversion"


def test_a_conversion_stopped_half_way_leaves_xorbs_that_the_next_attempt_reuses(hub: Any) -> None:
    oid = store_object(hub, os.urandom(64 * MiB))

    def stop_after_the_first_xorb(done: int) -> None:  # what JobContext.check_cancelled does once told to stop
        raise JobCancelledError("cancelled by an administrator")

    with pytest.raises(JobCancelledError):
        convert_lfs_object(hub.sessions, hub.blobs, oid, stop_after_the_first_xorb)
    with hub.sessions() as session:
        assert session.get(XetLfsConversion, oid) is None
        assert session.scalar(select(func.count()).select_from(XetXorb)) == 1

    hub.wait_for_jobs(120)  # the job queued with the object

    assert the_job(hub).state == JobState.SUCCEEDED
    with hub.sessions() as session:
        conversion = session.get(XetLfsConversion, oid)
        assert conversion is not None
        needed = session.scalar(
            select(func.count()).select_from(XetFileXorb).where(XetFileXorb.file_hash == conversion.file_hash)
        )
        stored = session.scalar(select(func.count()).select_from(XetXorb))
    assert needed > 1
    assert stored == needed == len(xorb_files(hub))  # the first xorb was used again, not stored twice


def test_an_object_is_converted_once_however_often_it_is_queued(hub: Any) -> None:
    content = os.urandom(2 * MiB)
    oid = store_object(hub, content)
    with hub.sessions.begin() as session:
        queue_conversion(hub.jobs, session, oid)  # pending: the same job
    hub.wait_for_jobs(60)
    with hub.sessions.begin() as session:
        queue_conversion(hub.jobs, session, oid)  # done: a new job, which finds nothing to do
    hub.wait_for_jobs(60)

    with hub.sessions() as session:
        jobs = session.scalars(select(Job).order_by(Job.id)).all()
        assert [j.state for j in jobs] == [JobState.SUCCEEDED, JobState.SUCCEEDED]
        assert "nothing to do" in jobs[1].log
        assert session.scalar(select(func.count()).select_from(XetLfsConversion)) == 1


def test_a_conversion_of_an_object_that_is_gone_succeeds_doing_nothing(hub: Any) -> None:
    with hub.sessions.begin() as session:
        queue_conversion(hub.jobs, session, "a" * 64)
        hub.jobs.enqueue(session, CONVERT, {"oid": "not-an-oid"})

    hub.wait_for_jobs(60)

    with hub.sessions() as session:
        gone, bad = session.scalars(select(Job).order_by(Job.id)).all()
    assert gone.state == JobState.SUCCEEDED
    assert (bad.state, bad.attempts, bad.error) == (
        JobState.FAILED,
        1,
        "JobFailedError: Not an LFS object id: 'not-an-oid'",
    )
