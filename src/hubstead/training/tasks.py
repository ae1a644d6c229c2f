"""The ``train`` job kind. Its handler is a client of the hub: for each attempt it mints a fine-grained token of
the submitter (read the base model and the dataset, write the output namespace), trains through the public API
with it (``runner.run``) and revokes it when the attempt ends. Runs on workers of the ``train`` pool
(``hubstead worker --kinds train``), one job at a time per worker; checkpoints in the training work dir let a
job whose worker was killed resume where it stopped."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hubstead.accounts.models import Account, AccountType, Token
from hubstead.accounts.services import AccountService
from hubstead.config import Settings
from hubstead.db.base import utcnow
from hubstead.errors import HubsteadError, JobCancelledError, JobFailedError, TrainingConfigError
from hubstead.jobs.tasks import JobContext, Task, TaskRegistry
from hubstead.training.config import TrainingConfig, parse_config
from hubstead.training.services import TRAIN_JOB

TRAIN_POOL = "train"
TOKEN_NAME = "training job {id}"


def register(registry: TaskRegistry) -> None:
    registry.add(Task(TRAIN_JOB, run_training_job, pool=TRAIN_POOL, max_per_worker=1, max_attempts=3))


def hub_url(settings: Settings) -> str:
    url = settings.training.hub_url or settings.public_url or f"http://{settings.host}:{settings.port}"
    return url.rstrip("/")


def work_dir(settings: Settings, job_id: int) -> Path:
    base = settings.training.work_dir or settings.data_dir / "training"
    return base / f"job-{job_id}"


class _Reporter:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    def log(self, line: str) -> None:
        self.ctx.log(line)

    def progress(self, fraction: float, message: str = "") -> None:
        self.ctx.progress(fraction, message)

    def cancelled(self) -> bool:
        return self.ctx.cancelled()


def run_training_job(ctx: JobContext) -> None:
    from hubstead.training import runner  # torch and transformers: only on training workers

    try:
        config = parse_config(ctx.payload.get("config"))
    except TrainingConfigError as exc:
        raise JobFailedError(exc.message) from None
    settings = ctx.adapters.settings
    work = work_dir(settings, ctx.job_id)
    owner, token = _mint_token(ctx, config)
    url = hub_url(settings)
    source = runner.HubSource(endpoint=url, token=token, job_url=f"{url}/jobs/{owner}/{ctx.job_id}")
    ctx.log(f"attempt {ctx.attempt}: training {config.task.value} on {config.dataset} from {config.base_model}")
    try:
        if config.processes > 1:
            from hubstead.training.distributed import run_distributed

            result = run_distributed(config, source, work, _Reporter(ctx))
        else:
            result = runner.run(config, source, work, _Reporter(ctx))
    except TrainingConfigError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise JobFailedError(exc.message) from None
    except JobCancelledError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        _revoke_tokens(ctx)
    ctx.log(f"done: {config.output_repo}@{result.commit}")
    shutil.rmtree(work, ignore_errors=True)


def _scopes(account: Account, config: TrainingConfig) -> dict[str, Any]:
    namespace = config.output_repo.split("/")[0]
    write_entity = "user" if namespace.lower() == account.name.lower() else "org"
    return {
        "global": [],
        "scoped": [
            {"entity": {"type": "model", "name": config.base_model}, "permissions": ["repo.content.read"]},
            {"entity": {"type": "dataset", "name": config.dataset}, "permissions": ["repo.content.read"]},
            {"entity": {"type": write_entity, "name": namespace}, "permissions": ["repo.write"]},
        ],
        "canReadGatedRepos": True,
    }


def _mint_token(ctx: JobContext, config: TrainingConfig) -> tuple[str, str]:
    """(the submitter's name, a token of theirs for this attempt, scoped to what the job needs)."""
    from hubstead.accounts.models import TokenRole

    _revoke_tokens(ctx)  # a killed attempt's token
    with ctx.adapters.sessions.begin() as session:
        account = session.get(Account, ctx.payload.get("submitter"))
        if account is None or account.disabled or account.type != AccountType.USER:
            raise JobFailedError("The job's submitter no longer exists or is disabled")
        accounts = AccountService(session)
        try:
            _, clear = accounts.create_token(
                account, TOKEN_NAME.format(id=ctx.job_id), TokenRole.FINE_GRAINED, _scopes(account, config)
            )
        except HubsteadError as exc:  # e.g. no longer a member of the output organisation
            raise JobFailedError(f"output_repo: {exc.message}") from None
        return account.name, clear


def _revoke_tokens(ctx: JobContext) -> None:
    with ctx.adapters.sessions.begin() as session:
        tokens = session.scalars(
            select(Token).where(
                Token.user_id == ctx.payload.get("submitter"),
                Token.name == TOKEN_NAME.format(id=ctx.job_id),
                Token.revoked_at.is_(None),
            )
        )
        for token in tokens:
            token.revoked_at = utcnow()
