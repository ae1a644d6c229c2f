"""Training jobs over HTTP, two ways:

- Hubstead's own, under ``/api/hubstead/training/jobs``: submit a configuration (JSON, or ``{"config": "<YAML>"}``),
  list, inspect (with log and metric points), cancel, read the log.
- huggingface.co's jobs API shape, under ``/api/jobs/{namespace}``, so that ``huggingface_hub``'s ``run_job``
  (with ``image="hubstead"`` and a ``hubstead train ...`` command), ``list_jobs``, ``inspect_job``, ``cancel_job``
  and ``fetch_job_logs`` work. Other images answer 400.

A user sees only their own jobs (site admins see all); another's job looks missing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from hubstead.api.deps import ActorDep, BaseUrlDep, HubDep, SessionDep
from hubstead.api.limits import BoundedJsonRoute, read_json, row_id
from hubstead.api.payloads import iso
from hubstead.errors import InvalidInputError, JobNotFoundError, TrainingConfigError
from hubstead.jobs.models import JobState
from hubstead.training.config import config_from_args, load_config_text
from hubstead.training.services import TrainingJob, TrainingService, require_job_rights

router = APIRouter(route_class=BoundedJsonRoute)
IMAGES = ("hubstead", "hubstead/train")  # what run_job may name; anything else is another platform's container
STAGES = {
    JobState.QUEUED: "SCHEDULING",
    JobState.RUNNING: "RUNNING",
    JobState.SUCCEEDED: "COMPLETED",
    JobState.FAILED: "ERROR",
    JobState.CANCELLED: "CANCELED",
}


async def get_training(session: SessionDep, hub: HubDep) -> TrainingService:
    return TrainingService(session, hub.git, hub.jobs)


TrainingDep = Annotated[TrainingService, Depends(get_training)]


def training_info(found: TrainingJob, base_url: str, *, detail: bool = False) -> dict[str, Any]:
    job = found.job
    info: dict[str, Any] = {
        "id": str(job.id),
        "owner": found.owner,
        "state": job.state.value,
        "cancelRequested": job.cancel_requested,
        "progress": job.progress,
        "progressMessage": job.progress_message,
        "error": job.error,
        "attempts": job.attempts,
        "config": found.config,
        "outputRepo": found.output_repo,
        "url": f"{base_url}/jobs/{found.owner}/{job.id}",
        "createdAt": iso(job.created_at),
        "startedAt": iso(job.started_at) if job.started_at else None,
        "finishedAt": iso(job.finished_at) if job.finished_at else None,
    }
    if detail:
        info |= {"log": job.log, "metrics": found.metrics()}
    return info


def _states(text: str | None) -> list[JobState]:
    if not text:
        return []
    try:
        return [JobState(part.strip()) for part in text.split(",")[:10]]
    except ValueError:
        raise InvalidInputError(f"state is one or more of {', '.join(s.value for s in JobState)}") from None


# --- Hubstead's own ----------------------------------------------------------------------------------------


@router.post("/api/hubstead/training/jobs")
async def submit_training_job(
    request: Request, training: TrainingDep, actor: ActorDep, base_url: BaseUrlDep
) -> dict[str, Any]:
    """A configuration as JSON fields, or ``{"config": "<YAML or JSON text>"}``."""
    require_job_rights(actor, "train a model")
    body = await read_json(request)
    if isinstance(body, dict) and set(body) == {"config"} and isinstance(body["config"], str):
        body = load_config_text(body["config"])
    return training_info(training.submit(actor, body), base_url)


@router.get("/api/hubstead/training/jobs")
def list_training_jobs(
    training: TrainingDep, actor: ActorDep, base_url: BaseUrlDep, state: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    return [training_info(j, base_url) for j in training.list_jobs(actor, states=_states(state), limit=limit)]


@router.get("/api/hubstead/training/jobs/{job_id}")
def get_training_job(job_id: str, training: TrainingDep, actor: ActorDep, base_url: BaseUrlDep) -> dict[str, Any]:
    return training_info(training.get_job(actor, row_id(job_id, JobNotFoundError)), base_url, detail=True)


@router.post("/api/hubstead/training/jobs/{job_id}/cancel")
def cancel_training_job(job_id: str, training: TrainingDep, actor: ActorDep, base_url: BaseUrlDep) -> dict[str, Any]:
    return training_info(training.cancel(actor, row_id(job_id, JobNotFoundError)), base_url)


@router.get("/api/hubstead/training/jobs/{job_id}/logs")
def get_training_job_log(job_id: str, training: TrainingDep, actor: ActorDep) -> PlainTextResponse:
    return PlainTextResponse(training.get_job(actor, row_id(job_id, JobNotFoundError)).job.log)


# --- huggingface.co's jobs API shape -----------------------------------------------------------------------


def hf_job_info(found: TrainingJob, base_url: str) -> dict[str, Any]:
    job = found.job
    command = ["hubstead", "train", "--config", json.dumps(found.config)]
    message = job.error if job.state == JobState.FAILED else job.progress_message or None
    return {
        "id": str(job.id),
        "createdAt": iso(job.created_at),
        "startedAt": iso(job.started_at) if job.started_at else None,
        "finishedAt": iso(job.finished_at) if job.finished_at else None,
        "dockerImage": IMAGES[0],
        "spaceId": None,
        "owner": {"id": f"{job.account_id or 0:024x}", "name": found.owner, "type": "user"},
        "command": command,
        "arguments": [],
        "environment": {},
        "secrets": None,
        "flavor": "cpu-basic",
        "labels": {"hubstead.kind": "train", "outputRepo": found.output_repo},
        "status": {"stage": STAGES[job.state], "message": message},
        "url": f"{base_url}/jobs/{found.owner}/{job.id}",
    }


def _owned(training: TrainingService, actor: ActorDep, namespace: str, job_id: str) -> TrainingJob:
    found = training.get_job(actor, row_id(job_id, JobNotFoundError))
    if found.owner.lower() != namespace.lower():
        raise JobNotFoundError(f"No job {job_id[:50]} in {namespace[:100]}")
    return found


def _command(spec: Any) -> list[str]:
    if not isinstance(spec, dict):
        raise InvalidInputError("A job spec is a JSON object")
    image = spec.get("dockerImage") or spec.get("spaceId")
    name = str(image or "").split(":", 1)[0]
    if name not in IMAGES:
        raise InvalidInputError(
            f"Hubstead runs training jobs only: use the image 'hubstead' with the command "
            f"'hubstead train ...', not {str(image)[:100]!r}"
        )
    parts = [spec.get("command") or [], spec.get("arguments") or []]
    if not all(isinstance(part, list) for part in parts):
        raise InvalidInputError("command and arguments are lists of strings")
    command = [*parts[0], *parts[1]]
    if not all(isinstance(part, str) for part in command) or command[:2] != ["hubstead", "train"]:
        raise InvalidInputError(
            "The command must be 'hubstead train --config <YAML>' or 'hubstead train key=value ...'"
        )
    return command[2:]


@router.post("/api/jobs/{namespace}")
async def run_job(
    namespace: str, request: Request, training: TrainingDep, actor: ActorDep, base_url: BaseUrlDep
) -> dict[str, Any]:
    """``huggingface_hub.run_job(image="hubstead", command=["hubstead", "train", ...])``."""
    require_job_rights(actor, "train a model")
    args = _command(await read_json(request))
    if actor.account is not None and namespace.lower() != actor.account.name.lower():
        raise TrainingConfigError("namespace", "jobs run in your own namespace")
    return hf_job_info(training.submit(actor, config_from_args(args)), base_url)


@router.get("/api/jobs/{namespace}")
def list_jobs(namespace: str, training: TrainingDep, actor: ActorDep, base_url: BaseUrlDep) -> list[dict[str, Any]]:
    return [hf_job_info(j, base_url) for j in training.list_jobs(actor, owner=namespace)]


@router.get("/api/jobs/{namespace}/{job_id}")
def inspect_job(
    namespace: str, job_id: str, training: TrainingDep, actor: ActorDep, base_url: BaseUrlDep
) -> dict[str, Any]:
    return hf_job_info(_owned(training, actor, namespace, job_id), base_url)


@router.post("/api/jobs/{namespace}/{job_id}/cancel")
def cancel_job(
    namespace: str, job_id: str, training: TrainingDep, actor: ActorDep, base_url: BaseUrlDep
) -> dict[str, Any]:
    found = _owned(training, actor, namespace, job_id)
    return hf_job_info(training.cancel(actor, found.job.id), base_url)


@router.get("/api/jobs/{namespace}/{job_id}/logs")
def fetch_job_logs(namespace: str, job_id: str, training: TrainingDep, actor: ActorDep) -> StreamingResponse:
    """The log so far as server-sent events (``data: {"timestamp": ..., "data": line}``); the client asks again
    while the job runs."""
    log = _owned(training, actor, namespace, job_id).job.log

    def events() -> Any:
        for line in log.splitlines():
            stamp, _, text = line.partition(" ")
            try:
                when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            except ValueError:
                when, text = datetime.now(UTC), line
            yield f"data: {json.dumps({'timestamp': iso(when), 'data': text})}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
