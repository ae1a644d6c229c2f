"""The ``datasets.convert`` background job: queued with every commit or push that moves a dataset repo's main
branch, in that commit's unit of work (``request_conversion``); it runs ``convert.convert_revision``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hubstead.config import Settings
from hubstead.datasets.convert import NothingToConvertError, convert_revision
from hubstead.errors import JobFailedError
from hubstead.gitstore.store import FULL_SHA
from hubstead.jobs.services import JobQueue
from hubstead.jobs.tasks import JobContext, Task, TaskRegistry
from hubstead.repos.models import Repo, RepoType

CONVERT = "datasets.convert"
CONVERT_ATTEMPTS = 3
CONVERT_TIMEOUT_SECONDS = 6 * 3600


def register(registry: TaskRegistry) -> None:
    registry.add(Task(CONVERT, convert_task, max_attempts=CONVERT_ATTEMPTS, timeout_seconds=CONVERT_TIMEOUT_SECONDS))


def dedup_key(repo_pk: int, sha: str) -> str:
    return f"{CONVERT}:{repo_pk}@{sha}"


def request_conversion(queue: JobQueue, settings: Settings, session: Session, repo: Repo, sha: str) -> None:
    """Queue the conversion of ``sha`` if it is now the head of dataset ``repo``'s main branch, in ``session``:
    the caller's unit of work (no job if it rolls back)."""
    if not settings.datasets.enabled or repo.type is not RepoType.DATASET or repo.head_sha != sha:
        return
    if viewer_disabled(repo):
        return
    queue.enqueue(session, CONVERT, {"repo": repo.id, "sha": sha}, dedup_key=dedup_key(repo.id, sha), repo_id=repo.id)


def viewer_disabled(repo: Repo) -> bool:
    """The card says ``viewer: false``, as on huggingface.co: no conversion, no viewer."""
    return isinstance(repo.card_data, dict) and repo.card_data.get("viewer") is False


def convert_task(ctx: JobContext) -> None:
    repo_pk, sha = ctx.payload.get("repo"), ctx.payload.get("sha")
    if not isinstance(repo_pk, int) or not isinstance(sha, str) or not FULL_SHA.match(sha):
        raise JobFailedError(f"A conversion job needs a repo id and a commit sha: {ctx.payload!r}")

    def report(fraction: float, message: str) -> None:
        ctx.check_cancelled()
        ctx.progress(fraction, message)

    try:
        state = convert_revision(ctx.adapters, repo_pk, sha, report, f"{ctx.job_id}-{ctx.attempt}")
    except NothingToConvertError as exc:
        ctx.log(f"nothing to convert: {exc}")
        return
    for config in state.configs:
        if config.error:
            ctx.log(f"config {config.name}: {config.error}")
        for split in config.splits:
            ctx.log(f"config {config.name}, split {split.name}: {split.num_rows} rows, {len(split.shards)} shard(s)")
    ctx.log(f"parquet commit: {state.parquet_commit or 'none (the main branch moved on)'}")
