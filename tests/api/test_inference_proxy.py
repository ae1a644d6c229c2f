"""The hub's side of the inference API, with a fake worker (httpx.MockTransport): what it forwards (the model's
commit, its task, a delegated token scoped to it, the worker key), what it passes back, and what it refuses
before any worker is involved (unknown tasks, no worker, rate limits)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from hubstead.app import create_app
from hubstead.config import InferenceSettings, RateLimitSettings, Settings
from hubstead.hub import Hub
from hubstead.inference.client import WorkerClient
from tests.api._support import auth, seed_repo
from tests.conftest import User


class FakeWorker:
    def __init__(self, answer: httpx.Response | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or httpx.Response(200, json=[[{"label": "POSITIVE", "score": 1.0}]])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer


def _fake(hub: Any, worker: FakeWorker, key: str | None = "worker-key") -> None:
    hub.inference_client = WorkerClient("http://worker", key, 10, transport=httpx.MockTransport(worker))


def test_the_hub_forwards_the_commit_the_task_and_a_token_scoped_to_the_model(
    live_server: str, hub: Any, user: User
) -> None:
    head = seed_repo(live_server, user.token, "alice/private-model", private=True)
    worker = FakeWorker()
    _fake(hub, worker)
    response = httpx.post(
        f"{live_server}/models/alice/private-model/pipeline/text-classification",
        json={"inputs": "hi"}, headers=auth(user.token),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json() == [[{"label": "POSITIVE", "score": 1.0}]]
    sent = worker.requests[0]
    assert sent.url.path == "/run"
    assert sent.headers["X-Hubstead-Model"] == "alice/private-model"
    assert sent.headers["X-Hubstead-Revision"] == head
    assert sent.headers["X-Hubstead-Task"] == "text-classification"
    assert sent.headers["X-Hubstead-Worker-Key"] == "worker-key"
    assert json.loads(sent.content) == {"inputs": "hi"}
    delegated = sent.headers["Authorization"].removeprefix("Bearer ")
    assert delegated != user.token
    # it reads the model's files for the caller, and nothing else
    files = httpx.get(f"{live_server}/alice/private-model/resolve/main/hello.txt", headers=auth(delegated))
    assert files.status_code == 200
    assert httpx.get(f"{live_server}/api/whoami-v2", headers=auth(delegated)).status_code == 401


def test_worker_errors_pass_back_as_the_worker_said(live_server: str, hub: Any, user: User) -> None:
    seed_repo(live_server, user.token, "alice/model")
    error = httpx.Response(
        503, json={"error": "Model alice/model is currently loading", "estimated_time": 12.0},
        headers={"X-Error-Code": "ModelLoading", "X-Error-Message": "Model alice/model is currently loading"},
    )  # fmt: skip
    _fake(hub, FakeWorker(error))
    response = httpx.post(f"{live_server}/models/alice/model", json={"inputs": "hi"})
    assert response.status_code == 503
    assert response.headers["x-error-code"] == "ModelLoading"
    assert response.json()["estimated_time"] == 12.0


def test_unknown_tasks_are_refused_before_any_worker(live_server: str, hub: Any, user: User) -> None:
    seed_repo(live_server, user.token, "alice/model")
    worker = FakeWorker()
    _fake(hub, worker)
    unknown = httpx.post(f"{live_server}/models/alice/model/pipeline/\u00e7-task", json={"inputs": "hi"})
    assert unknown.status_code == 400
    assert worker.requests == []


def test_no_worker_answers_503(live_server: str, hub: Any, user: User) -> None:
    seed_repo(live_server, user.token, "alice/model")
    response = httpx.post(f"{live_server}/models/alice/model", json={"inputs": "hi"})
    assert response.status_code == 503
    assert "not enabled" in response.json()["error"]


@pytest.fixture
def limited_app(settings: Settings) -> Any:
    limited = settings.model_copy(
        update={
            "rate_limit": RateLimitSettings(enabled=True, anonymous_requests=3),
            "inference": InferenceSettings(worker_url="http://worker"),
        }
    )
    hub = Hub.from_settings(limited)
    yield create_app(limited, hub), hub
    hub.close()


def test_rate_limits_apply_to_inference_calls(limited_app: Any) -> None:
    from starlette.testclient import TestClient

    app, hub = limited_app
    _fake(hub, FakeWorker())
    with TestClient(app) as client:
        statuses = [client.post("/models/alice/none", json={"inputs": "hi"}).status_code for _ in range(5)]
    assert statuses[:3] == [404, 404, 404]
    assert 429 in statuses[3:]
