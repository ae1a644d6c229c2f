"""Background jobs, for site admins: ``/api/hubstead/admin/jobs`` lists them (filtered by state, kind and repo,
newest first, paged with ``before``), ``/{id}`` shows one with its log, ``/{id}/cancel`` and ``/{id}/retry``
act on one. A read token may look; changes need a write token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from hubstead.admin.services import AdminService, JobSubjects
from hubstead.api.deps import ActorDep, HubDep, SessionDep
from hubstead.api.limits import MAX_ROW_ID, BoundedJsonRoute, row_id
from hubstead.api.payloads import iso
from hubstead.errors import InvalidInputError, JobNotFoundError
from hubstead.jobs.models import Job, JobState
from hubstead.repos.models import RepoType

router = APIRouter(prefix="/api/hubstead/admin/jobs", route_class=BoundedJsonRoute)
MAX_FILTER = 200


async def get_job_admin(session: SessionDep, actor: ActorDep, hub: HubDep) -> AdminService:
    return AdminService(session, actor, hub.jobs)


JobAdminDep = Annotated[AdminService, Depends(get_job_admin)]


def job_info(job: Job, subjects: JobSubjects, *, with_log: bool = False) -> dict[str, Any]:
    repo = subjects.repos.get(job.repo_id) if job.repo_id is not None else None
    info: dict[str, Any] = {
        "id": job.id,
        "kind": job.kind,
        "state": job.state.value,
        "payload": job.payload,
        "attempts": job.attempts,
        "maxAttempts": job.max_attempts,
        "priority": job.priority,
        "progress": job.progress,
        "progressMessage": job.progress_message,
        "error": job.error,
        "workerId": job.worker_id,
        "cancelRequested": job.cancel_requested,
        "dedupKey": job.dedup_key,
        "repo": {"type": repo.type.value, "id": repo.repo_id} if repo is not None else None,
        "account": subjects.accounts.get(job.account_id) if job.account_id is not None else None,
        "createdAt": iso(job.created_at),
        "runAfter": iso(job.run_after),
        "startedAt": iso(job.started_at) if job.started_at else None,
        "finishedAt": iso(job.finished_at) if job.finished_at else None,
        "leaseExpiresAt": iso(job.lease_expires_at) if job.lease_expires_at else None,
    }
    if with_log:
        info["log"] = job.log
    return info


def parse_states(text: str | None) -> list[JobState]:
    """``queued,running``: any of them."""
    if not text:
        return []
    states = []
    for name in text.split(","):
        try:
            states.append(JobState(name.strip()))
        except ValueError:
            known = ", ".join(s.value for s in JobState)
            raise InvalidInputError(f"Unknown job state {name.strip()[:30]!r}; use {known}") from None
    return states


def parse_repo(text: str | None, repo_type: str | None) -> tuple[RepoType | None, str] | None:
    if repo_type is not None and repo_type not in {t.value for t in RepoType}:
        raise InvalidInputError("repoType must be model, dataset or space")
    if not text:
        return None
    if len(text) > MAX_FILTER or text.count("/") != 1:
        raise InvalidInputError("repo must be a repo id: namespace/name")
    return (RepoType(repo_type) if repo_type else None), text


def _check_filters(kind: str | None, before: int | None, limit: int) -> int | None:
    if kind is not None and len(kind) > 64:
        raise InvalidInputError("kind is at most 64 characters")
    if not 1 <= limit <= 1000:
        raise InvalidInputError("limit must be between 1 and 1000")
    return None if before is None else max(0, min(before, MAX_ROW_ID))


@router.get("")
def admin_list_jobs(
    admin: JobAdminDep,
    state: str | None = None,
    kind: str | None = None,
    repo: str | None = None,
    repo_type: Annotated[str | None, Query(alias="repoType")] = None,
    before: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest first; the next page is ``before=<the last id>``."""
    start = _check_filters(kind, before, limit)
    jobs = admin.list_jobs(
        states=parse_states(state), kind=kind, repo=parse_repo(repo, repo_type), before=start, limit=limit
    )
    subjects = admin.job_subjects(jobs)
    return [job_info(job, subjects) for job in jobs]


@router.get("/{job_id}")
def admin_get_job(job_id: str, admin: JobAdminDep) -> dict[str, Any]:
    job = admin.get_job(row_id(job_id, JobNotFoundError))
    return job_info(job, admin.job_subjects([job]), with_log=True)


@router.post("/{job_id}/cancel")
def admin_cancel_job(job_id: str, admin: JobAdminDep) -> dict[str, Any]:
    """A queued job is cancelled at once; a running one is asked to stop (``cancelRequested``)."""
    job = admin.cancel_job(row_id(job_id, JobNotFoundError))
    return job_info(job, admin.job_subjects([job]), with_log=True)


@router.post("/{job_id}/retry")
def admin_retry_job(job_id: str, admin: JobAdminDep) -> dict[str, Any]:
    """Queue a failed or cancelled job again, with all its attempts."""
    job = admin.retry_job(row_id(job_id, JobNotFoundError))
    return job_info(job, admin.job_subjects([job]), with_log=True)
