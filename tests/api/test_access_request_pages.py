"""Access-request lists come in pages (``list_page_size`` each) linked by ``Link: <...>; rel="next"``, which
``HfApi.list_pending_access_requests`` and its siblings follow: a gated repo with more requests than a page
lists them all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi

from hubstead.accounts.models import TokenRole
from hubstead.accounts.services import AccountService
from hubstead.config import RateLimitSettings, Settings
from tests.api._support import auth

PAGE = 3
ASKERS = [f"user{i}" for i in range(2 * PAGE + 1)]  # three pages, the last one short


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "hub",
        database_url=database_url,
        secret_key="k",
        list_page_size=PAGE,
        rate_limit=RateLimitSettings(enabled=False),
    )


@pytest.fixture
def gated(live_server: str, hub: Any, user: Any) -> str:
    """alice/gated (manual gate), asked for by every one of ASKERS."""
    api = HfApi(endpoint=live_server, token=user.token)
    api.create_repo("alice/gated")
    with httpx.Client(base_url=live_server) as client:
        settings = client.put("/api/models/alice/gated/settings", json={"gated": "manual"}, headers=auth(user.token))
        assert settings.status_code == 200, settings.text
        with hub.sessions.begin() as session:
            accounts = AccountService(session)
            tokens = [accounts.create_token(accounts.create_user(n), "t", TokenRole.READ)[1] for n in ASKERS]
        for token in tokens:
            asked = client.post("/api/models/alice/gated/ask-access", json={"why": "research"}, headers=auth(token))
            assert asked.status_code == 200, asked.text
    return "alice/gated"


def test_hf_api_lists_every_pending_request_across_pages(live_server, user, gated):
    api = HfApi(endpoint=live_server, token=user.token)

    requests = list(api.list_pending_access_requests(gated))

    assert [r.username for r in requests] == ASKERS
    assert requests[0].fields == {"why": "research"}
    assert len({r.request_id for r in requests}) == len(ASKERS)


def test_accepted_and_rejected_lists_page_too(live_server, user, gated):
    api = HfApi(endpoint=live_server, token=user.token)
    for name in ASKERS[:4]:
        api.accept_access_request(gated, name)
    api.reject_access_request(gated, ASKERS[4], rejection_reason="no")

    assert [r.username for r in api.list_accepted_access_requests(gated)] == ASKERS[:4]
    assert [r.username for r in api.list_rejected_access_requests(gated)] == [ASKERS[4]]
    assert [r.username for r in api.list_pending_access_requests(gated)] == ASKERS[5:]


def test_pages_are_linked_with_absolute_urls_and_the_last_has_no_link(live_server, user, gated):
    url = "/api/models/alice/gated/user-access-request/pending"
    pages = []
    with httpx.Client(base_url=live_server) as client:
        response = client.get(url, headers=auth(user.token))
        pages.append(response)
        while "link" in response.headers:
            link = response.headers["link"]
            assert link.startswith(f"<{live_server}{url}?cursor=")
            assert link.endswith('>; rel="next"')
            response = client.get(link[1 : link.index(">")], headers=auth(user.token))
            pages.append(response)

    assert [len(p.json()) for p in pages] == [PAGE, PAGE, 1]
    assert all(p.status_code == 200 for p in pages)


@pytest.mark.parametrize("cursor", ["abc", "-1", "1" * 20])
def test_a_bad_cursor_is_refused(live_server, user, gated, cursor):
    with httpx.Client(base_url=live_server) as client:
        response = client.get(
            "/api/models/alice/gated/user-access-request/pending", params={"cursor": cursor}, headers=auth(user.token)
        )

    assert response.status_code == 400
    assert "cursor" in response.json()["error"]
