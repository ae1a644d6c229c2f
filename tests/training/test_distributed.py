"""A job with ``processes: 2`` trains data-parallel under torchrun on CPU (gloo), pushes once, and loads back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hubstead.jobs.models import JobState
from tests.conftest import User
from tests.training.conftest import push_bert, push_sentiment
from tests.training.test_train_jobs import finished, submit, text_config

transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.slow


def test_two_processes_train_data_parallel_on_cpu(hub: Any, user: User, live_server: str, tmp_path: Path) -> None:
    push_bert(f"{user.name}/tiny-bert", user.token)
    push_sentiment(f"{user.name}/sentiment", user.token)

    job = finished(hub, submit(hub, user, text_config(user, processes=2, epochs=1)))

    assert job.state == JobState.SUCCEEDED, job.log
    assert "started 2 training processes" in job.log
    assert "data-parallel over 2 processes" in job.log  # what Trainer itself saw
    assert "metrics {" in job.log
    repo_id = f"{user.name}/sentiment-bert"
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        repo_id, token=user.token, cache_dir=tmp_path
    )
    assert set(model.config.id2label.values()) == {"negative", "positive"}
