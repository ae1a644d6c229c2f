"""Training jobs end to end against a live hub: each task trains a few steps, pushes, loads back with
``from_pretrained``, and its card carries the base model, the dataset and the metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, ModelCard

from hubstead.jobs.models import Job, JobState
from hubstead.training.services import TrainingService
from tests.conftest import User
from tests.training.conftest import push_bert, push_sentiment

transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.slow


def submit(hub: Any, user: User, config: dict[str, Any]) -> int:
    from hubstead.accounts.services import AccountService

    with hub.sessions.begin() as session:
        actor = AccountService(session).actor_for_token(user.token)
        return TrainingService(session, hub.git, hub.jobs).submit(actor, config).job.id


def finished(hub: Any, job_id: int) -> Job:
    hub.wait_for_jobs(600)
    with hub.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def text_config(user: User, **extra: Any) -> dict[str, Any]:
    return {
        "task": "text-classification",
        "base_model": f"{user.name}/tiny-bert",
        "dataset": f"{user.name}/sentiment",
        "output_repo": f"{user.name}/sentiment-bert",
        "epochs": 2,
        "batch_size": 4,
        "learning_rate": 1e-3,
    } | extra


def test_text_classification_trains_pushes_and_loads_back(
    live_server: str, hub: Any, user: User, tmp_path: Path
) -> None:
    push_bert(f"{user.name}/tiny-bert", user.token)
    push_sentiment(f"{user.name}/sentiment", user.token)

    job = finished(hub, submit(hub, user, text_config(user)))

    assert job.state == JobState.SUCCEEDED, job.log
    repo_id = f"{user.name}/sentiment-bert"
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        repo_id, token=user.token, cache_dir=tmp_path
    )
    assert set(model.config.id2label.values()) == {"negative", "positive"}
    card = ModelCard.load(repo_id, token=user.token)
    assert card.data.base_model == f"{user.name}/tiny-bert"
    assert card.data.datasets == [f"{user.name}/sentiment"]
    metrics = {m["type"] for m in card.data.to_dict()["model-index"][0]["results"][0]["metrics"]}
    assert "accuracy" in metrics
    assert f"/jobs/{user.name}/{job.id}" in card.text
    assert HfApi(endpoint=live_server, token=user.token).model_info(repo_id).private
    assert "metrics {" in job.log
    assert "saved checkpoint" in job.log
