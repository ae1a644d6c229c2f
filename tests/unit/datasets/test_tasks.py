"""The datasets.convert job: a payload it cannot use fails at once; a repo or commit that is gone ends it quietly."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hubstead.datasets.tasks import CONVERT
from hubstead.jobs.models import Job, JobState


def _run(hub: Any, payload: dict[str, Any]) -> Job:
    with hub.sessions.begin() as session:
        hub.jobs.enqueue(session, CONVERT, payload)
    hub.wait_for_jobs(60)
    with hub.sessions() as session:
        job = session.scalars(select(Job).where(Job.kind == CONVERT)).one()
        session.expunge(job)
        return job


def test_a_conversion_of_a_repo_that_is_gone_ends_without_retries(hub: Any) -> None:
    job = _run(hub, {"repo": 12345, "sha": "a" * 40})
    assert (job.state, job.attempts) == (JobState.SUCCEEDED, 1)
    assert "nothing to convert" in job.log


def test_a_conversion_without_a_commit_sha_fails_at_once(hub: Any) -> None:
    job = _run(hub, {"repo": 1, "sha": "main"})
    assert (job.state, job.attempts) == (JobState.FAILED, 1)
