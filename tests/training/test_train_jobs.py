"""Training jobs end to end against a live hub: each task trains a few steps, pushes, loads back with
``from_pretrained``, and its card carries the base model, the dataset and the metrics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, ModelCard

from hubstead.jobs.models import Job, JobState
from hubstead.training.services import TrainingService
from tests.conftest import User
from tests.training.conftest import push_bert, push_gpt2, push_images, push_ner, push_sentiment, push_vit

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


def test_token_classification_trains_and_loads_back(hub: Any, user: User, tmp_path: Path, live_server: str) -> None:
    push_bert(f"{user.name}/tiny-bert", user.token)
    push_ner(f"{user.name}/adjectives", user.token)
    config = text_config(
        user, task="token-classification", dataset=f"{user.name}/adjectives", text_column="tokens",
        label_column="tags", output_repo=f"{user.name}/adjective-tagger",
    )  # fmt: skip

    job = finished(hub, submit(hub, user, config))

    assert job.state == JobState.SUCCEEDED, job.log
    repo_id = f"{user.name}/adjective-tagger"
    model = transformers.AutoModelForTokenClassification.from_pretrained(repo_id, token=user.token, cache_dir=tmp_path)
    assert set(model.config.id2label.values()) == {"ADJ", "O"}
    assert ModelCard.load(repo_id, token=user.token).data.pipeline_tag == "token-classification"


@pytest.mark.parametrize("merge", [False, True])
def test_causal_lm_sft_with_lora(hub: Any, user: User, tmp_path: Path, live_server: str, merge: bool) -> None:
    peft = pytest.importorskip("peft")
    push_gpt2(f"{user.name}/tiny-gpt2", user.token)
    push_sentiment(f"{user.name}/sentiment", user.token)
    repo_id = f"{user.name}/gpt2-sft"
    config = text_config(
        user, task="causal-lm", base_model=f"{user.name}/tiny-gpt2", output_repo=repo_id, merge_adapter=merge,
        lora_target_modules=["c_attn"],
    )  # fmt: skip

    job = finished(hub, submit(hub, user, config))

    assert job.state == JobState.SUCCEEDED, job.log
    files = set(HfApi(endpoint=live_server, token=user.token).list_repo_files(repo_id))
    card = ModelCard.load(repo_id, token=user.token)
    assert card.data.base_model == f"{user.name}/tiny-gpt2"
    assert "loss" in {m["type"] for m in card.data.to_dict()["model-index"][0]["results"][0]["metrics"]}
    if merge:
        assert "adapter_config.json" not in files
        model = transformers.AutoModelForCausalLM.from_pretrained(repo_id, token=user.token, cache_dir=tmp_path)
        assert type(model).__name__ == "GPT2LMHeadModel"
    else:
        assert "adapter_config.json" in files
        base = transformers.AutoModelForCausalLM.from_pretrained(
            f"{user.name}/tiny-gpt2", token=user.token, cache_dir=tmp_path
        )
        model = peft.PeftModel.from_pretrained(base, repo_id, token=user.token, cache_dir=tmp_path)
        assert model.peft_config["default"].r == 8


def test_image_classification_trains_and_loads_back(hub: Any, user: User, tmp_path: Path, live_server: str) -> None:
    push_vit(f"{user.name}/tiny-vit", user.token)
    push_images(f"{user.name}/colours", user.token)
    config = text_config(
        user, task="image-classification", base_model=f"{user.name}/tiny-vit", dataset=f"{user.name}/colours",
        output_repo=f"{user.name}/colour-vit",
    )  # fmt: skip

    job = finished(hub, submit(hub, user, config))

    assert job.state == JobState.SUCCEEDED, job.log
    repo_id = f"{user.name}/colour-vit"
    model = transformers.AutoModelForImageClassification.from_pretrained(repo_id, token=user.token, cache_dir=tmp_path)
    assert set(model.config.id2label.values()) == {"blue", "red"}
    transformers.AutoImageProcessor.from_pretrained(repo_id, token=user.token, cache_dir=tmp_path)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"text_column": "sentence"}, "text_column"),
        ({"label_column": "stars"}, "label_column"),
        ({"eval_split": "validation"}, "eval_split"),
        ({"task": "image-classification"}, "image_column"),
    ],
)
def test_a_bad_configuration_fails_fast_naming_the_field(
    hub: Any, user: User, live_server: str, change: dict[str, Any], field: str
) -> None:
    push_bert(f"{user.name}/tiny-bert", user.token)
    push_sentiment(f"{user.name}/sentiment", user.token)
    started = time.monotonic()

    job = finished(hub, submit(hub, user, text_config(user) | change))

    assert job.state == JobState.FAILED
    assert job.error is not None
    assert job.error.removeprefix("JobFailedError: ").startswith(f"{field}:")
    assert time.monotonic() - started < 30
    assert not HfApi(endpoint=live_server, token=user.token).repo_exists(f"{user.name}/sentiment-bert")


def test_inconsistent_labels_fail_naming_the_label_column(hub: Any, user: User, live_server: str) -> None:
    push_bert(f"{user.name}/tiny-bert", user.token)
    push_sentiment(f"{user.name}/sentiment", user.token, eval_labels=["positive", "neutral", "negative", "negative"])

    job = finished(hub, submit(hub, user, text_config(user)))

    assert job.state == JobState.FAILED
    assert job.error is not None
    assert job.error.removeprefix("JobFailedError: ").startswith("label_column:")
    assert "neutral" in job.error


def test_a_base_model_that_does_not_load_fails_naming_it(hub: Any, user: User, live_server: str) -> None:
    HfApi(endpoint=live_server, token=user.token).create_repo(f"{user.name}/tiny-bert")  # no weights, no config
    push_sentiment(f"{user.name}/sentiment", user.token)

    job = finished(hub, submit(hub, user, text_config(user)))

    assert job.state == JobState.FAILED
    assert job.error is not None
    assert job.error.removeprefix("JobFailedError: ").startswith("base_model:")


def test_a_cancelled_job_stops_within_seconds_and_pushes_nothing(hub: Any, user: User, live_server: str) -> None:
    push_bert(f"{user.name}/tiny-bert", user.token)
    push_sentiment(f"{user.name}/sentiment", user.token)
    job_id = submit(hub, user, text_config(user, max_steps=100_000, batch_size=2))
    worker = hub.make_worker(kinds=["train"]).start()
    try:
        wait_until(hub, job_id, lambda job: "metrics {" in job.log, 120)
        with hub.sessions.begin() as session:
            from hubstead.accounts.services import AccountService

            actor = AccountService(session).actor_for_token(user.token)
            TrainingService(session, hub.git, hub.jobs).cancel(actor, job_id)
        cancelled_at = time.monotonic()
        job = wait_until(hub, job_id, lambda job: job.state.finished, 60)
        assert time.monotonic() - cancelled_at < 10
    finally:
        worker.stop(grace=0)
    assert job.state == JobState.CANCELLED
    assert not HfApi(endpoint=live_server, token=user.token).repo_exists(f"{user.name}/sentiment-bert")
    assert not (hub.settings.data_dir / "training" / f"job-{job_id}").exists()


def wait_until(hub: Any, job_id: int, condition: Any, timeout: float) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        with hub.sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            session.expunge(job)
        if condition(job):
            return job
        assert time.monotonic() < deadline, job.log
        time.sleep(0.2)
