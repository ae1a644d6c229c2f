"""Chat and embeddings through the openai package and InferenceClient(base_url=...), real MiniLM weights,
private models, models that cannot load, loading answers and cancelled requests."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import User
from tests.inference import _models


@pytest.fixture
def chat_model(built_models: Callable[[str], Path], push_model: Callable[..., str], worker: Any) -> str:
    return push_model(built_models("text-generation"), "chat")


@pytest.fixture
def minilm(push_model: Callable[..., str], worker: Any, tmp_path: Path) -> str:
    folder = tmp_path / "minilm"
    shutil.copytree(_models.minilm_folder(), folder)
    (folder / "README.md").write_text(
        "---\npipeline_tag: sentence-similarity\nlibrary_name: sentence-transformers\n---\n"
    )
    return push_model(folder, "all-MiniLM-L6-v2")


def test_chat_through_openai_streaming_and_not(live_server: str, user: User, chat_model: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{live_server}/v1", api_key=user.token)
    messages = [{"role": "user", "content": "Hello there"}]
    answer = client.chat.completions.create(model=chat_model, messages=messages, max_tokens=5)  # type: ignore[arg-type]
    assert answer.choices[0].message.role == "assistant"
    assert isinstance(answer.choices[0].message.content, str)
    stream = client.chat.completions.create(model=chat_model, messages=messages, max_tokens=5, stream=True)  # type: ignore[arg-type]
    chunks = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert len(chunks) >= 1
    listed = {m.id for m in client.models.list()}
    assert chat_model in listed


def test_chat_through_inference_client(live_server: str, user: User, chat_model: str) -> None:
    from huggingface_hub import InferenceClient

    by_base = InferenceClient(base_url=f"{live_server}/v1", token=user.token)
    out = by_base.chat_completion([{"role": "user", "content": "Hi"}], model=chat_model, max_tokens=4)
    assert out.choices[0].message.role == "assistant"
    by_model = InferenceClient(model=f"{live_server}/models/{chat_model}", token=user.token)
    pieces = list(by_model.chat_completion([{"role": "user", "content": "Hi"}], max_tokens=4, stream=True))
    assert pieces


def test_minilm_embeddings_and_similarity(live_server: str, user: User, minilm: str) -> None:
    from huggingface_hub import InferenceClient
    from openai import OpenAI

    client = InferenceClient(model=f"{live_server}/models/{minilm}", token=user.token)
    vector = client.feature_extraction("A man is eating food.")
    assert vector.shape == (384,)
    assert abs(float((vector**2).sum()) - 1.0) < 1e-3  # the model's Normalize module applies
    scores = client.sentence_similarity(
        "A man is eating food.", other_sentences=["A man is eating a piece of bread.", "The stock market fell."]
    )
    assert scores[0] > scores[1] + 0.2  # real weights: the related sentence is closer
    openai = OpenAI(base_url=f"{live_server}/v1", api_key=user.token)
    embedded = openai.embeddings.create(model=minilm, input=["A man is eating food.", "hello"])
    assert [len(d.embedding) for d in embedded.data] == [384, 384]
    assert embedded.data[0].embedding == pytest.approx(vector.tolist(), abs=1e-4)


def test_private_model_needs_a_token_that_reads_it(
    live_server: str, user: User, other_user: User, built_models: Callable[[str], Path],
    push_model: Callable[..., str], worker: Any,
) -> None:  # fmt: skip
    repo_id = push_model(built_models("text-classification"), "secret", private=True)
    url = f"{live_server}/models/{repo_id}"
    anonymous = httpx.post(url, json={"inputs": "hi"})
    outsider = httpx.post(url, json={"inputs": "hi"}, headers={"Authorization": f"Bearer {other_user.token}"})
    missing = httpx.post(f"{live_server}/models/{user.name}/nothing-here", json={"inputs": "hi"})
    for response in (anonymous, outsider):
        assert (response.status_code, response.headers["x-error-code"]) == (404, "RepoNotFound")
    assert anonymous.content == missing.content.replace(b"nothing-here", b"secret")
    owner = httpx.post(url, json={"inputs": "hi"}, headers={"Authorization": f"Bearer {user.read_token}"}, timeout=60)
    assert owner.status_code == 200, owner.text


def _uid(hub: Any, repo_id: str) -> str:
    from hubstead.repos.models import RepoType
    from hubstead.repos.services import RepoService

    with hub.sessions() as session:
        repo = RepoService(session, hub.git, hub.blobs).find_repo(RepoType.MODEL, repo_id)
        assert repo is not None
        return str(repo.uid)


def test_delegated_token_reads_only_its_own_repo(live_server: str, user: User, hub: Any) -> None:
    owner = {"Authorization": f"Bearer {user.token}"}
    assert httpx.post(f"{live_server}/api/repos/create", json={"name": "one"}, headers=owner).status_code == 200
    token = hub.delegated_tokens.issue(user.name, "model", f"{user.name}/one", _uid(hub, f"{user.name}/one"))
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{live_server}/api/models/{user.name}/one/revision/main", headers=headers).status_code == 200
    assert httpx.get(f"{live_server}/api/models/{user.name}/two", headers=headers).status_code == 401
    assert httpx.get(f"{live_server}/api/whoami-v2", headers=headers).status_code == 401
    assert httpx.post(f"{live_server}/api/repos/create", json={"name": "x"}, headers=headers).status_code == 401
    forged = token[:-4] + "0000"
    response = httpx.get(f"{live_server}/api/models/{user.name}/one", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    # deleted and made again under the same name: another repo, which the token does not open
    deleted = httpx.request("DELETE", f"{live_server}/api/repos/delete", json={"name": "one"}, headers=owner)
    assert deleted.status_code == 200
    assert httpx.post(f"{live_server}/api/repos/create", json={"name": "one"}, headers=owner).status_code == 200
    assert httpx.get(f"{live_server}/api/models/{user.name}/one/revision/main", headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no-weights", "no safetensors weights"),
        ("custom-code", "custom code"),
        ("unknown-arch", "Unknown model architecture"),
        ("too-big", "budget"),
    ],
)
def test_a_model_that_cannot_run_says_why(
    live_server: str, user: User, built_models: Callable[[str], Path], push_model: Callable[..., str],
    worker: Any, tmp_path: Path, change: str, message: str,
) -> None:  # fmt: skip
    folder = tmp_path / "broken"
    shutil.copytree(built_models("text-classification"), folder)
    config = json.loads((folder / "config.json").read_text())
    if change == "no-weights":
        (folder / "model.safetensors").unlink()
    elif change == "custom-code":
        config["auto_map"] = {"AutoModel": "modeling.MyModel"}
        (folder / "modeling.py").write_text("raise SystemExit('never imported')\n")
    elif change == "unknown-arch":
        config["model_type"] = "no-such-architecture"
    elif change == "too-big":
        (folder / "extra.safetensors").write_bytes(b"\0" * (300 * 1024 * 1024))
    (folder / "config.json").write_text(json.dumps(config))
    repo_id = push_model(folder, f"broken-{change}")
    response = httpx.post(f"{live_server}/models/{repo_id}", json={"inputs": "hi"}, timeout=120)
    assert response.status_code == 422, response.text
    assert response.headers["x-error-code"] == "ModelNotRunnable"
    assert message in response.json()["error"]


def test_loading_answers_503_with_estimated_time_when_asked_not_to_wait(
    live_server: str, user: User, built_models: Callable[[str], Path], push_model: Callable[..., str], worker: Any
) -> None:
    repo_id = push_model(built_models("fill-mask"), "loading")
    url = f"{live_server}/models/{repo_id}"
    body = {"inputs": "Paris is the [MASK] of France."}
    first = httpx.post(url, json=body, headers={"X-Wait-For-Model": "false"})
    assert first.status_code == 503, first.text
    assert first.headers["x-error-code"] == "ModelLoading"
    assert first.json()["estimated_time"] > 0
    deadline = time.monotonic() + 60
    while True:
        later = httpx.post(url, json=body, headers={"X-Wait-For-Model": "false"})
        if later.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert later.status_code == 200, later.text


def test_a_cancelled_stream_stops_generating(live_server: str, user: User, chat_model: str, worker: Any) -> None:
    url = f"{live_server}/models/{chat_model}"
    body = {"inputs": "The quick brown fox", "parameters": {"max_new_tokens": 500}, "stream": True}
    headers = {"Authorization": f"Bearer {user.token}"}
    with httpx.stream("POST", url, json=body, headers=headers, timeout=60) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data:"):
                break  # one token, then the client goes away
    deadline = time.monotonic() + 20
    while worker.cancelled_streams == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker.cancelled_streams == 1


def test_calls_are_counted_on_the_model_page(
    live_server: str, user: User, built_models: Callable[[str], Path], push_model: Callable[..., str], worker: Any
) -> None:
    repo_id = push_model(built_models("text-classification"), "counted")
    for _ in range(2):
        assert httpx.post(f"{live_server}/models/{repo_id}", json={"inputs": "hi"}, timeout=60).status_code == 200
    page = httpx.get(f"{live_server}/{repo_id}")
    assert "2 inference calls" in page.text
