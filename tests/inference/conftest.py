"""An inference worker per test (its ASGI app on a uvicorn thread, a client of the live hub), the hub's
settings pointing at it, and tiny models built once per session."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hubstead.config import InferenceSettings, RateLimitSettings, Settings
from tests.conftest import User
from tests.inference import _models

pytest.importorskip("transformers")


@pytest.fixture
def worker_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def worker_url(worker_socket: socket.socket) -> str:
    return f"http://127.0.0.1:{worker_socket.getsockname()[1]}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, worker_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "hub",
        database_url=database_url,
        secret_key="test-secret",
        rate_limit=RateLimitSettings(enabled=False),
        inference=InferenceSettings(worker_url=worker_url, worker_key="worker-key", timeout_seconds=60),
    )


@pytest.fixture
def worker_config(live_server: str, tmp_path: Path) -> Any:
    from hubstead.inference.services import WorkerConfig

    return WorkerConfig(live_server, tmp_path / "worker-cache", memory_budget_bytes=256 * 1024 * 1024)


@pytest.fixture
def worker(worker_socket: socket.socket, worker_config: Any) -> Iterator[Any]:
    """The running worker's service (its stats say what it loaded, batched and cancelled)."""
    import uvicorn

    from hubstead.inference.server import create_worker_app
    from hubstead.inference.services import InferenceService

    service = InferenceService(worker_config)
    app = create_worker_app(service, "worker-key")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [worker_socket]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the inference worker did not start"
        time.sleep(0.01)
    yield service
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def built_models(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A folder per task, built on first use."""
    built: dict[str, Path] = {}

    def get(task: str) -> Path:
        if task not in built:
            folder = tmp_path_factory.mktemp(task.replace("-", "_"))
            _models.BUILDERS[task](folder)
            built[task] = folder
        return built[task]

    return get


@pytest.fixture
def push_model(live_server: str, user: User, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Upload a folder as alice/<name> (private if asked); returns the repo id."""
    from huggingface_hub import HfApi, constants

    def push(folder: Path, name: str, private: bool = False) -> str:
        # through LFS: the Xet client remembers chunks it uploaded to an earlier test's hub (same weights, pushed
        # again) and only refers to them, in a shard naming xorbs this test's hub never received (400)
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
        api = HfApi(endpoint=live_server, token=user.token)
        repo_id = f"{user.name}/{name}"
        api.create_repo(repo_id, private=private)
        api.upload_folder(repo_id=repo_id, folder_path=folder)
        return repo_id

    return push
