"""Shared fixtures: settings on every reachable database backend, a fresh hub per test, and one live
HTTP server per test process whose app is swapped per test (so HF_ENDPOINT can be fixed up front)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hubstead.config import RateLimitSettings, Settings

_server: LiveServer | None = None


class SwitchableApp:
    """The ASGI app the live server runs: forwards to the current test's app."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            del message
            return
        if self.app is None:
            raise RuntimeError("no app is being served")
        await self.app(scope, receive, send)


@dataclass
class LiveServer:
    sock: socket.socket
    switch: SwitchableApp
    url: str
    thread: threading.Thread | None = None


def require_ci_services() -> None:
    """Under CI (``CI=true``) the real parts the suite tests against must all be there: a run that quietly
    skipped PostgreSQL, Redis, Chromium or git-lfs would pass without testing them."""
    problems = [f"{tool} is not installed" for tool in ("chromium", "git-lfs") if shutil.which(tool) is None]
    database = os.environ.get("HUBSTEAD_TEST_DATABASE_URL")
    redis_url = os.environ.get("HUBSTEAD_TEST_REDIS_URL")
    if not database:
        problems.append("HUBSTEAD_TEST_DATABASE_URL is not set")
    else:
        try:
            engine = create_engine(database)
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
        except Exception as exc:
            problems.append(f"PostgreSQL at HUBSTEAD_TEST_DATABASE_URL is not reachable: {exc}")
    if not redis_url:
        problems.append("HUBSTEAD_TEST_REDIS_URL is not set")
    else:
        import redis

        try:
            redis.Redis.from_url(redis_url, socket_timeout=5).ping()
        except Exception as exc:
            problems.append(f"Redis at HUBSTEAD_TEST_REDIS_URL is not reachable: {exc}")
    if problems:
        raise pytest.UsageError("CI=true, but " + "; ".join(problems))


def pytest_configure(config: pytest.Config) -> None:
    """Reserve this process's server port and point the official clients at it before they are imported."""
    global _server
    if os.environ.get("CI") == "true" and not hasattr(config, "workerinput"):
        require_ci_services()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    _server = LiveServer(sock=sock, switch=SwitchableApp(), url=url)
    home = Path(config.rootpath) / ".pytest-hf-home" / uuid.uuid4().hex[:8]
    for key in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.pop(key, None)
    os.environ.update(
        HF_ENDPOINT=url,
        HF_HOME=str(home),
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_IMPLICIT_TOKEN="1",
        DISABLE_SAFETENSORS_CONVERSION="1",
        HF_HUB_ETAG_TIMEOUT="30",
        HF_HUB_DOWNLOAD_TIMEOUT="30",
        TOKENIZERS_PARALLELISM="false",
    )


def _start_server() -> LiveServer:
    import uvicorn

    assert _server is not None
    if _server.thread is None:
        # a long keep-alive, as `hubstead serve` has: pooled client connections are never closed under them
        config = uvicorn.Config(
            _server.switch, lifespan="on", log_level="warning", access_log=False, timeout_keep_alive=300
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [_server.sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.01)
        _server.thread = thread
    return _server


# --- databases ----------------------------------------------------------------------------------

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("HUBSTEAD_TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hubstead.db'}"
        return
    base = os.environ["HUBSTEAD_TEST_DATABASE_URL"]
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # rate limiting is on by default; tests that hammer the server must not depend on its budgets (its own
    # tests, in tests/api/test_rate_limits.py, turn it on)
    return Settings(
        data_dir=tmp_path / "hub",
        database_url=database_url,
        secret_key="test-secret",
        rate_limit=RateLimitSettings(enabled=False),
    )


@pytest.fixture
def hub(settings: Settings) -> Iterator[Any]:
    from hubstead.hub import Hub

    hub = Hub.from_settings(settings)
    yield hub
    hub.close()


@pytest.fixture
def app(settings: Settings, hub: Any) -> Any:
    from hubstead.app import create_app

    return create_app(settings, hub)


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    server = _start_server()
    server.switch.app = app
    try:
        yield server.url
    finally:
        server.switch.app = None


@pytest.fixture
def server_switch(live_server: str) -> SwitchableApp:
    """The live server's app holder, for tests that wrap the app (e.g. to inject network faults)."""
    return _start_server().switch


# --- accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    name: str
    token: str
    read_token: str


def make_user(hub: Any, name: str, *, is_admin: bool = False) -> User:
    from hubstead.accounts.models import TokenRole
    from hubstead.accounts.services import AccountService

    with hub.sessions.begin() as session:
        service = AccountService(session)
        account = service.create_user(
            name,
            password="correct horse battery",
            email=f"{name}@example.org",
            fullname=name.title(),
            is_admin=is_admin,
        )
        _, write = service.create_token(account, "write-token", TokenRole.WRITE)
        _, read = service.create_token(account, "read-token", TokenRole.READ)
    return User(name=name, token=write, read_token=read)


def make_org(hub: Any, name: str, members: dict[str, str]) -> None:
    from hubstead.accounts.models import OrgRole
    from hubstead.accounts.services import AccountService

    with hub.sessions.begin() as session:
        service = AccountService(session)
        org = service.create_org(name, fullname=name.title())
        for member, role in members.items():
            service.set_membership(org, service.get_user(member), OrgRole(role))


@pytest.fixture
def user(hub: Any) -> User:
    return make_user(hub, "alice")


@pytest.fixture
def other_user(hub: Any) -> User:
    return make_user(hub, "bob")


@pytest.fixture(autouse=True)
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh huggingface_hub cache per test (the constants are read at import time)."""
    cache = tmp_path / "hf-cache"
    try:
        from huggingface_hub import constants
    except ImportError:
        return cache
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HUGGINGFACE_HUB_CACHE", str(cache), raising=False)
    return cache
