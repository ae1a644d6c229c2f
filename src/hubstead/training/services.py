"""TrainingService: submit, list, inspect and cancel training jobs. A user sees only their own jobs (site admins
see all); another user's job looks missing. Submitting checks what needs no data: the configuration's shape, that
the submitter may read the base model and the dataset, and may write the output repo (or create it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubstead.accounts.models import Account
from hubstead.accounts.permissions import Actor, namespace_access
from hubstead.errors import (
    AuthenticationError,
    HubsteadError,
    JobNotFoundError,
    PermissionDeniedError,
    TrainingConfigError,
)
from hubstead.gitstore import GitStore
from hubstead.jobs.models import Job, JobState
from hubstead.jobs.services import JobQueue
from hubstead.repos.models import RepoType
from hubstead.repos.services import RepoService
from hubstead.training.config import METRICS_PREFIX, TrainingConfig, config_json, parse_config

TRAIN_JOB = "train"
JOB_WRITE = "job.write"


@dataclass(frozen=True)
class TrainingJob:
    """A training job as its owner sees it."""

    job: Job
    owner: str
    config: dict[str, Any]

    @property
    def output_repo(self) -> str:
        return str(self.config.get("output_repo", ""))

    def metrics(self) -> list[dict[str, Any]]:
        """The metric points the job logged (step, epoch, loss, eval_*), oldest first."""
        points = []
        for line in self.job.log.splitlines():
            _, _, text = line.partition(" ")
            if text.startswith(METRICS_PREFIX):
                try:
                    point = json.loads(text[len(METRICS_PREFIX) :])
                except ValueError:
                    continue
                if isinstance(point, dict):
                    points.append(point)
        return points


def require_job_rights(actor: Actor, what: str) -> None:
    """Submitting or cancelling: a write token, a session, or a fine-grained token with ``job.write`` on the
    caller's own account (the token a training job holds has none: a job cannot start jobs)."""
    if actor.account is None:
        raise AuthenticationError(f"You must be authenticated to {what}")
    if not actor.may_write_at_all:
        raise PermissionDeniedError(f"To {what} needs a write token")
    if actor.scopes is not None and JOB_WRITE not in actor.scopes.namespace_permissions(actor.account.name):
        raise PermissionDeniedError(f"To {what} needs a token with {JOB_WRITE} on your account")


class TrainingService:
    """Training jobs in the caller's unit of work (never commits)."""

    def __init__(self, session: Session, git: GitStore, jobs: JobQueue) -> None:
        self.session = session
        self.repos = RepoService(session, git)
        self.jobs = jobs

    def submit(self, actor: Actor, data: dict[str, Any] | TrainingConfig) -> TrainingJob:
        """Queue a training job, after the checks that need no data."""
        require_job_rights(actor, "train a model")
        assert actor.account is not None
        config = data if isinstance(data, TrainingConfig) else parse_config(data)
        self._check_access(actor, config)
        output = self.repos.find_repo(RepoType.MODEL, config.output_repo, light=True)
        payload = {"config": config_json(config), "submitter": actor.account.id}
        job = self.jobs.enqueue(
            self.session,
            TRAIN_JOB,
            payload,
            account_id=actor.account.id,
            repo_id=output.id if output is not None else None,
        )
        return TrainingJob(job, actor.account.name, config_json(config))

    def _check_access(self, actor: Actor, config: TrainingConfig) -> None:
        for field, repo_type, repo_id in (
            ("base_model", RepoType.MODEL, config.base_model),
            ("dataset", RepoType.DATASET, config.dataset),
        ):
            try:
                self.repos.get_repo_for_download(repo_type, repo_id, actor, light=True)
            except HubsteadError:  # missing, private or gated without a grant: one answer, naming the field
                raise TrainingConfigError(field, f"no {repo_type.value} {repo_id} that you may read") from None
        output = self.repos.find_repo(RepoType.MODEL, config.output_repo, light=True)
        if output is not None:
            try:
                self.repos.get_repo_for_write(RepoType.MODEL, config.output_repo, actor)
            except HubsteadError:
                raise TrainingConfigError("output_repo", f"you may not write to {config.output_repo}") from None
            return
        namespace = config.output_repo.split("/")[0]
        owner = self.repos.accounts.find_account(namespace)
        if owner is None or not namespace_access(actor, owner.name).write:
            raise TrainingConfigError("output_repo", f"you may not create a model under {namespace}")

    def list_jobs(
        self, actor: Actor, *, owner: str | None = None, states: Sequence[JobState] = (), limit: int = 100
    ) -> list[TrainingJob]:
        """The actor's training jobs, newest first (a site admin: anyone's, or ``owner``'s)."""
        if actor.account is None:
            raise AuthenticationError("You must be authenticated to list training jobs")
        if owner is not None and ("\x00" in owner or len(owner) > 200):  # no name holds one (PostgreSQL refuses NUL)
            return []
        query = select(Job, Account.name).join(Account, Account.id == Job.account_id).where(Job.kind == TRAIN_JOB)
        if not actor.is_admin:
            if owner is not None and owner.lower() != actor.account.name.lower():
                return []
            query = query.where(Job.account_id == actor.account.id)
        elif owner is not None:
            query = query.where(Account.name == owner)
        if states:
            query = query.where(Job.state.in_(list(states)))
        rows = self.session.execute(query.order_by(Job.id.desc()).limit(max(1, min(limit, 1000)))).all()
        return [TrainingJob(job, name, dict(job.payload.get("config", {}))) for job, name in rows]

    def get_job(self, actor: Actor, job_id: int) -> TrainingJob:
        """The job if it is the actor's (or the actor is a site admin); otherwise JobNotFoundError."""
        if actor.account is None:
            raise AuthenticationError("You must be authenticated to see training jobs")
        job = self.session.get(Job, job_id)
        if job is None or job.kind != TRAIN_JOB or job.account_id is None:
            raise JobNotFoundError(f"No training job {job_id}")
        if job.account_id != actor.account.id and not actor.is_admin:
            raise JobNotFoundError(f"No training job {job_id}")
        owner = self.session.get(Account, job.account_id)
        return TrainingJob(job, owner.name if owner else "", dict(job.payload.get("config", {})))

    def cancel(self, actor: Actor, job_id: int) -> TrainingJob:
        """Cancel a queued job, or ask a running one to stop (it stops within seconds and pushes nothing)."""
        found = self.get_job(actor, job_id)
        require_job_rights(actor, "cancel a job")
        job = self.jobs.cancel(self.session, found.job.id)
        return TrainingJob(job, found.owner, found.config)
