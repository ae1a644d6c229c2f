"""Every task of the inference API through huggingface_hub's InferenceClient and raw HTTP, on tiny models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import User
from tests.inference import _models


def client(live_server: str, repo_id: str, token: str) -> Any:
    from huggingface_hub import InferenceClient

    return InferenceClient(model=f"{live_server}/models/{repo_id}", token=token)


@pytest.fixture
def model(
    built_models: Callable[[str], Path], push_model: Callable[..., str], worker: Any, request: pytest.FixtureRequest
) -> str:
    task: str = request.param
    return push_model(built_models(task), task.replace("-", "_"))


@pytest.mark.parametrize("model", ["text-classification"], indirect=True)
def test_text_classification(live_server: str, user: User, model: str) -> None:
    result = client(live_server, model, user.token).text_classification("I love this movie")
    assert {r.label for r in result} == {"POSITIVE", "NEGATIVE"}
    assert sum(r.score for r in result) == pytest.approx(1.0, abs=1e-4)
    raw = httpx.post(f"{live_server}/models/{model}", json={"inputs": ["good", "bad"]}, headers=_auth(user))
    assert raw.status_code == 200, raw.text
    assert len(raw.json()) == 2
    assert {r["label"] for r in raw.json()[0]} == {"POSITIVE", "NEGATIVE"}


@pytest.mark.parametrize("model", ["token-classification"], indirect=True)
def test_token_classification(live_server: str, user: User, model: str) -> None:
    result = client(live_server, model, user.token).token_classification("My name is Sarah and I live in London")
    assert isinstance(result, list)
    for entity in result:
        assert entity.entity_group in {"PER", "LOC", "O"}
        assert 0 <= entity.score <= 1


@pytest.mark.parametrize("model", ["fill-mask"], indirect=True)
def test_fill_mask(live_server: str, user: User, model: str) -> None:
    result = client(live_server, model, user.token).fill_mask("Paris is the [MASK] of France.")
    assert len(result) == 5
    assert all("[MASK]" not in r.sequence for r in result)
    raw = httpx.post(f"{live_server}/models/{model}", json={"inputs": "no mask here"}, headers=_auth(user))
    assert raw.status_code == 400
    assert "mask" in raw.json()["error"]


@pytest.mark.parametrize("model", ["question-answering"], indirect=True)
def test_question_answering(live_server: str, user: User, model: str) -> None:
    context = "Paris is the capital of France."
    answer = client(live_server, model, user.token).question_answering(question="What is Paris?", context=context)
    assert answer.answer == context[answer.start : answer.end]


@pytest.mark.parametrize("model", ["zero-shot-classification"], indirect=True)
def test_zero_shot_classification(live_server: str, user: User, model: str) -> None:
    result = client(live_server, model, user.token).zero_shot_classification(
        "I love this movie", candidate_labels=["cinema", "politics"]
    )
    assert {r.label for r in result} == {"cinema", "politics"}


@pytest.mark.parametrize("model", ["feature-extraction"], indirect=True)
def test_feature_extraction_of_a_plain_model_gives_token_vectors(live_server: str, user: User, model: str) -> None:
    vectors = client(live_server, model, user.token).feature_extraction("hello world")
    assert vectors.ndim == 2
    assert vectors.shape[1] == 16


@pytest.mark.parametrize("model", ["summarization"], indirect=True)
def test_summarization(live_server: str, user: User, model: str) -> None:
    out = client(live_server, model, user.token).summarization("A summary is a short text.")
    assert isinstance(out.summary_text, str)


@pytest.mark.parametrize("model", ["translation"], indirect=True)
def test_translation(live_server: str, user: User, model: str) -> None:
    out = client(live_server, model, user.token).translation("Translate this sentence")
    assert isinstance(out.translation_text, str)


@pytest.mark.parametrize("model", ["text-generation"], indirect=True)
def test_text_generation(live_server: str, user: User, model: str) -> None:
    inference = client(live_server, model, user.token)
    text = inference.text_generation("The quick brown fox", max_new_tokens=5, seed=1)
    assert isinstance(text, str)
    assert text
    pieces = list(inference.text_generation("The quick brown fox", max_new_tokens=6, stream=True))
    assert len(pieces) >= 2
    assert all(isinstance(p, str) for p in pieces)


@pytest.mark.parametrize("model", ["image-classification"], indirect=True)
def test_image_classification(live_server: str, user: User, model: str) -> None:
    result = client(live_server, model, user.token).image_classification(_models.png_bytes())
    assert {r.label for r in result} == {"cat", "dog"}


@pytest.mark.parametrize("model", ["automatic-speech-recognition"], indirect=True)
def test_automatic_speech_recognition(live_server: str, user: User, model: str) -> None:
    result = client(live_server, model, user.token).automatic_speech_recognition(_models.wav_bytes())
    assert isinstance(result.text, str)
    raw = httpx.post(f"{live_server}/models/{model}", content=b"not audio", headers=_auth(user))
    assert raw.status_code == 400


def _auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}
