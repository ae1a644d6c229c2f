"""Request rate limits as a hub ships them: on by default, with budgets a CI farm does not hit, in two buckets
(``api`` and ``resolvers``: file transfers), per token and per IP apart. The 429 itself, site admins' exemption
and signed LFS transfers are tested in test_access_rules.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import CommitOperationAdd, HfApi, snapshot_download
from starlette.testclient import TestClient

from hubstead.config import RateLimitSettings, Settings
from hubstead.ratelimit import InMemoryRateLimiter
from tests.api._support import auth
from tests.conftest import make_user

FILES = 40  # files of the repo a CI job downloads (scaled down from 1,000: the budget is per file)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("HUBSTEAD_")]:
        monkeypatch.delenv(key)


def test_a_default_hub_limits_requests_with_generous_budgets(clean_env):
    limits = Settings().rate_limit

    assert limits.enabled
    assert limits.backend == "memory"
    # a CI farm behind one address, anonymous: 30 snapshot_downloads of a 1,000-file repo per window, each one
    # API call (repo_info) and a HEAD and a GET per file (see the snapshot test below)
    assert limits.anonymous_downloads >= 30 * (2 * 1000)
    assert limits.anonymous_requests >= 30 * 10
    # a token gets more than an address without one; each bucket is counted apart
    assert limits.token_requests > limits.anonymous_requests
    assert limits.token_downloads > limits.anonymous_downloads


def test_the_defaults_can_be_turned_off_from_the_environment(clean_env, monkeypatch):
    monkeypatch.setenv("HUBSTEAD_RATE_LIMIT__ENABLED", "false")
    monkeypatch.setenv("HUBSTEAD_RATE_LIMIT__ANONYMOUS_DOWNLOADS", "5")

    limits = Settings().rate_limit

    assert not limits.enabled
    assert limits.anonymous_downloads == 5


def _app(tmp_path: Path, database_url: str, limits: RateLimitSettings | None = None) -> tuple[Any, Any]:
    from hubstead.app import create_app
    from hubstead.hub import Hub

    extra = {"rate_limit": limits} if limits is not None else {}
    settings = Settings(data_dir=tmp_path / "hub", database_url=database_url, secret_key="k", **extra)
    hub = Hub.from_settings(settings)
    hub.__dict__["rate_limiter"] = InMemoryRateLimiter(clock=lambda: 1000.0)  # no window ends mid-test
    return create_app(settings, hub), hub


@pytest.fixture
def default_client(tmp_path: Path, database_url: str, clean_env: None) -> Iterator[tuple[TestClient, Any]]:
    app, hub = _app(tmp_path, database_url)
    with TestClient(app) as client:
        yield client, hub


def test_a_default_hub_counts_api_calls_and_transfers_in_their_own_buckets(default_client):
    client, hub = default_client
    alice = make_user(hub, "alice")
    client.post("/api/repos/create", json={"name": "m"}, headers=auth(alice.token))
    defaults = RateLimitSettings()
    w = defaults.window_seconds

    api_anonymous = client.get("/api/models/alice/m")
    api_token = client.get("/api/models/alice/m", headers=auth(alice.token))
    file_anonymous = client.head("/alice/m/resolve/main/.gitattributes")
    file_token = client.get("/alice/m/resolve/main/.gitattributes", headers=auth(alice.token))
    git_anonymous = client.get("/alice/m.git/info/refs", params={"service": "git-upload-pack"})
    xet_anonymous = client.get("/api/hubstead/xet/v1/reconstructions/" + "0" * 64)  # refused, and counted

    for response, policy, quota in [
        (api_anonymous, "api", defaults.anonymous_requests),
        (api_token, "api", defaults.token_requests),
        (file_anonymous, "resolvers", defaults.anonymous_downloads),
        (file_token, "resolvers", defaults.token_downloads),
        (git_anonymous, "resolvers", defaults.anonymous_downloads),
        (xet_anonymous, "resolvers", defaults.anonymous_downloads),
    ]:
        assert response.status_code == (401 if response is xet_anonymous else 200), response.text
        assert response.headers["ratelimit-policy"] == f'"{policy}";q={quota};w={w}'
    assert api_anonymous.headers["ratelimit"].startswith(f'"api";r={defaults.anonymous_requests - 1};t=')
    assert file_anonymous.headers["ratelimit"].startswith(f'"resolvers";r={defaults.anonymous_downloads - 1};t=')
    # the second anonymous transfer: counted in the same bucket as the first one, not in the api one
    assert git_anonymous.headers["ratelimit"].startswith(f'"resolvers";r={defaults.anonymous_downloads - 2};t=')


@pytest.fixture
def tight(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Any]]:
    limits = RateLimitSettings(
        token_requests=3, anonymous_requests=2, token_downloads=4, anonymous_downloads=3, window_seconds=600
    )
    app, hub = _app(tmp_path, database_url, limits)
    with TestClient(app) as client:
        yield client, hub


def test_a_spent_api_budget_leaves_transfers_and_tokens_alone(tight):
    client, hub = tight
    alice = make_user(hub, "alice")
    assert client.post("/api/repos/create", json={"name": "m"}, headers=auth(alice.token)).status_code == 200

    api = [client.get("/api/models/alice/m").status_code for _ in range(3)]
    files = [client.get("/alice/m/resolve/main/.gitattributes").status_code for _ in range(4)]
    token_api = client.get("/api/models/alice/m", headers=auth(alice.token))
    token_file = client.get("/alice/m/resolve/main/.gitattributes", headers=auth(alice.token))

    assert api == [200, 200, 429]
    assert files == [200, 200, 200, 429]
    assert token_api.status_code == 200  # alice's token has its own budget: the address's is spent
    assert token_file.status_code == 200


def test_transfers_past_their_budget_get_429_with_retry_after(tight):
    client, hub = tight
    alice = make_user(hub, "alice")
    client.post("/api/repos/create", json={"name": "m"}, headers=auth(alice.token))
    for _ in range(3):
        client.head("/alice/m/resolve/main/.gitattributes")

    refused = client.head("/alice/m/resolve/main/.gitattributes")
    refused_get = client.get("/alice/m/resolve/main/.gitattributes")

    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 600
    assert refused.headers["ratelimit"].startswith('"resolvers";r=0;t=')
    assert refused.headers["ratelimit-policy"] == '"resolvers";q=3;w=600'
    assert refused_get.status_code == 429
    assert "resolvers" in refused_get.json()["error"]


class Recorder:
    """Wraps an ASGI app and records each request's path and status. A 429 is passed on as a 400, so that the
    client fails at once instead of waiting for the window to end."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.seen.append((scope["method"], scope["path"], message["status"]))
                if message["status"] == 429:
                    message = dict(message, status=400)
            await send(message)

        await self.app(scope, receive, record)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # one snapshot's worth: two transfers per file (a HEAD and a GET), and a few API calls (info, the file tree)
    limits = RateLimitSettings(anonymous_downloads=2 * FILES, anonymous_requests=3, window_seconds=3600)
    return Settings(data_dir=tmp_path / "hub", database_url=database_url, secret_key="k", rate_limit=limits)


def test_a_snapshot_download_costs_two_transfers_per_file_and_a_few_api_calls(
    hub, live_server, server_switch, tmp_path
):
    hub.__dict__["rate_limiter"] = InMemoryRateLimiter(clock=lambda: 1000.0)
    alice = make_user(hub, "alice")
    api = HfApi(endpoint=live_server, token=alice.token)
    api.create_repo("alice/many")
    files = [CommitOperationAdd(f"f{i:03}.txt", f"file {i}\n".encode()) for i in range(FILES - 1)]
    api.create_commit("alice/many", files, commit_message="many files")  # with .gitattributes: FILES files
    recorder = Recorder(server_switch.app)
    server_switch.app = recorder

    folder = snapshot_download("alice/many", cache_dir=tmp_path / "cache", token=False)

    assert len(list(Path(folder).iterdir())) == FILES
    assert [s for s in recorder.seen if s[2] == 429] == []
    transfers = [s for s in recorder.seen if "/resolve/" in s[1]]
    assert len(transfers) == 2 * FILES
    assert len(recorder.seen) - len(transfers) <= 3
