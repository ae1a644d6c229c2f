"""Rules the permission matrix walks only in part: what contributors may write, gated files through every
transport (resolve, LFS, git), fine-grained tokens on gated repos, and request rate limits (429 with
``Retry-After`` and the IETF ``RateLimit`` fields, per token and per IP, none for site admins)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import hf_raise_for_status
from starlette.testclient import TestClient

from hubstead.config import RateLimitSettings, Settings
from hubstead.ratelimit import InMemoryRateLimiter
from tests.api._support import LFS_CONTENT, LFS_OID, auth, file_line, header_line, ndjson
from tests.conftest import make_org, make_user

NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def commit_to(client: TestClient, repo_id: str, branch: str, token: str) -> Any:
    body = ndjson(header_line(f"on {branch}"), file_line(f"{branch}.txt"))
    return client.post(f"/api/models/{repo_id}/commit/{branch}", content=body, headers=NDJSON | auth(token))


# --- contributors -----------------------------------------------------------------------------------------


def test_a_contributor_writes_to_branches_but_not_to_the_default_one(client, hub, user):
    erin = make_user(hub, "erin")
    make_org(hub, "acme", {"alice": "admin", "erin": "contributor"})
    client.post("/api/repos/create", json={"name": "m", "organization": "acme"}, headers=auth(user.token))

    branch = client.post("/api/models/acme/m/branch/feature", headers=auth(erin.token))
    on_branch = commit_to(client, "acme/m", "feature", erin.token)
    on_branch_ref = commit_to(client, "acme/m", "refs%2Fheads%2Ffeature", erin.token)
    on_main = commit_to(client, "acme/m", "main", erin.token)
    on_main_ref = commit_to(client, "acme/m", "refs%2Fheads%2Fmain", erin.token)
    tag = client.post("/api/models/acme/m/tag/main", json={"tag": "v1"}, headers=auth(erin.token))
    delete = client.delete("/api/models/acme/m/branch/feature", headers=auth(erin.token))
    lfs = client.post(
        "/acme/m.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": LFS_OID, "size": len(LFS_CONTENT)}]},
        headers=auth(erin.token),
    )

    assert [r.status_code for r in (branch, on_branch, on_branch_ref, lfs)] == [200, 200, 200, 200]
    assert "upload" in lfs.json()["objects"][0]["actions"]
    assert [r.status_code for r in (on_main, on_main_ref, tag, delete)] == [403, 403, 403, 403]
    files = client.get("/api/models/acme/m/tree/main", headers=auth(user.token)).json()
    assert [f["path"] for f in files] == [".gitattributes"]


def test_a_contributor_may_start_a_git_push_and_a_reader_may_not(client, hub, user):
    erin, carol = make_user(hub, "erin"), make_user(hub, "carol")
    make_org(hub, "acme", {"alice": "admin", "erin": "contributor", "carol": "read"})
    client.post("/api/repos/create", json={"name": "m", "organization": "acme"}, headers=auth(user.token))

    # the receive hooks then refuse what a contributor may not change (tests/compat/test_discussions.py)
    contributor = client.get("/acme/m.git/info/refs?service=git-receive-pack", headers=auth(erin.token))
    reader = client.get("/acme/m.git/info/refs?service=git-receive-pack", headers=auth(carol.token))

    assert (contributor.status_code, reader.status_code) == (200, 403)


# --- gated repos ------------------------------------------------------------------------------------------


@pytest.fixture
def gated(client, user) -> str:
    """alice/gated (manual approval) holding hello.txt and an LFS file, weights.bin."""
    token = auth(user.token)
    assert client.post("/api/repos/create", json={"name": "gated"}, headers=token).status_code == 200
    batch = {"operation": "upload", "objects": [{"oid": LFS_OID, "size": len(LFS_CONTENT)}]}
    for obj in client.post("/alice/gated.git/info/lfs/objects/batch", json=batch, headers=token).json()["objects"]:
        if "actions" in obj:
            client.put(obj["actions"]["upload"]["href"], content=LFS_CONTENT)
    lfs = {"key": "lfsFile", "value": {"path": "weights.bin", "algo": "sha256", "oid": LFS_OID}}
    body = ndjson(header_line("seed"), file_line("hello.txt", b"hello\n"), lfs)
    assert client.post("/api/models/alice/gated/commit/main", content=body, headers=NDJSON | token).status_code == 200
    assert client.put("/api/models/alice/gated/settings", json={"gated": "manual"}, headers=token).status_code == 200
    return "alice/gated"


def test_gated_files_are_refused_on_every_transport_until_access_is_accepted(client, gated, user, other_user):
    batch = {"operation": "download", "objects": [{"oid": LFS_OID, "size": len(LFS_CONTENT)}]}

    def answers(token: str | None) -> list[tuple[int, str | None]]:
        responses = [
            client.get(f"/{gated}/resolve/main/weights.bin", headers=auth(token)),
            client.head(f"/{gated}/resolve/main/hello.txt", headers=auth(token)),
            client.post(f"/{gated}.git/info/lfs/objects/batch", json=batch, headers=auth(token)),
            client.get(f"/{gated}/info/refs?service=git-upload-pack", headers=auth(token)),
        ]
        return [(r.status_code, r.headers.get("x-error-code")) for r in responses]

    assert answers(None) == [(401, "GatedRepo")] * 4
    assert answers(other_user.token) == [(403, "GatedRepo")] * 4
    assert client.get(f"/api/models/{gated}/tree/main", headers=auth(other_user.token)).status_code == 200
    client.post(f"/api/models/{gated}/ask-access", headers=auth(other_user.token))
    client.post(
        f"/api/models/{gated}/user-access-request/handle",
        json={"user": "bob", "status": "accepted"},
        headers=auth(user.token),
    )

    assert [status for status, _ in answers(other_user.token)] == [200, 200, 200, 200]
    denied = client.head(f"/{gated}/resolve/main/hello.txt", headers=auth(other_user.token))
    assert denied.headers.get("x-error-code") is None


def test_an_anonymous_git_client_is_asked_for_credentials_by_a_gated_repo(client, gated):
    response = client.get(f"/{gated}/info/refs?service=git-upload-pack")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["x-error-code"] == "GatedRepo"


@pytest.mark.parametrize(("can_read_gated", "status"), [(False, 403), (True, 200)])
def test_a_fine_grained_token_reads_granted_gated_repos_only_if_it_may(
    client, gated, user, other_user, can_read_gated, status
):
    client.post(f"/api/models/{gated}/user-access-request/grant", json={"user": "bob"}, headers=auth(user.token))
    fine = client.post(
        "/api/hubstead/tokens",
        json={"displayName": "fg", "role": "fineGrained", "fineGrained": {"canReadGatedRepos": can_read_gated}},
        headers=auth(other_user.token),
    ).json()["token"]

    response = client.get(f"/{gated}/resolve/main/hello.txt", headers=auth(fine))

    assert response.status_code == status


def test_the_gated_message_tells_where_to_ask_for_access(client, gated, other_user):
    response = client.get(f"/{gated}/resolve/main/hello.txt", headers=auth(other_user.token))

    assert response.headers["x-error-message"] == (
        "Access to model alice/gated is restricted and you are not in the authorized list. "
        "Visit http://testserver/alice/gated to ask for access."
    )


def test_asking_for_access_to_an_ungated_repo_is_a_bad_request(client, user, other_user):
    client.post("/api/repos/create", json={"name": "open"}, headers=auth(user.token))

    response = client.post("/api/models/alice/open/ask-access", headers=auth(other_user.token))

    assert response.status_code == 400
    assert "not gated" in response.json()["error"]


# --- rate limits ------------------------------------------------------------------------------------------

REDIS_URL = os.environ.get("HUBSTEAD_TEST_REDIS_URL")


@pytest.fixture(params=["memory"] + (["redis"] if REDIS_URL else []))
def limited(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Any]]:
    from hubstead.app import create_app
    from hubstead.hub import Hub

    limits = RateLimitSettings(
        enabled=True,
        backend=request.param,
        redis_url=REDIS_URL,
        token_requests=3,
        anonymous_requests=2,
        window_seconds=3600,
    )
    settings = Settings(data_dir=tmp_path / "hub", database_url=database_url, secret_key="k", rate_limit=limits)
    hub = Hub.from_settings(settings)
    # a clock that stands still: no window ends halfway through a test
    if request.param == "redis":  # keys of this test only
        from hubstead.ratelimit.redis import RedisRateLimiter

        prefix = f"test:{uuid.uuid4().hex}:"
        hub.__dict__["rate_limiter"] = RedisRateLimiter(REDIS_URL or "", clock=lambda: 1000.0, prefix=prefix)
    else:
        hub.__dict__["rate_limiter"] = InMemoryRateLimiter(clock=lambda: 1000.0)
    try:
        with TestClient(create_app(settings, hub)) as client:
            yield client, hub
    finally:
        hub.close()


def test_requests_past_the_limit_get_429_per_token(limited):
    client, hub = limited
    alice, bob = make_user(hub, "alice"), make_user(hub, "bob")

    allowed = [client.get("/api/whoami-v2", headers=auth(alice.token)) for _ in range(3)]
    refused = client.get("/api/whoami-v2", headers=auth(alice.token))

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [r.headers["ratelimit"].split(";t=")[0] for r in allowed] == [f'"api";r={n}' for n in (2, 1, 0)]
    assert allowed[0].headers["ratelimit-policy"] == '"api";q=3;w=3600'
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert refused.headers["ratelimit"].startswith('"api";r=0;t=')
    assert refused.headers["x-request-id"]
    request = httpx2.Request("GET", "http://testserver/api/whoami-v2")
    with pytest.raises(HfHubHTTPError) as raised:
        hf_raise_for_status(
            httpx2.Response(429, headers=dict(refused.headers), content=refused.content, request=request)
        )
    assert raised.value.response.status_code == 429
    assert client.get("/api/whoami-v2", headers=auth(bob.token)).status_code == 200


def test_anonymous_requests_are_limited_per_ip(limited):
    client, _ = limited

    statuses = [client.get("/api/health").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_site_admins_are_not_limited(limited):
    client, hub = limited
    root = make_user(hub, "root", is_admin=True)

    statuses = {client.get("/api/whoami-v2", headers=auth(root.token)).status_code for _ in range(8)}

    assert statuses == {200}


def test_lfs_transfers_through_signed_urls_are_not_counted(limited):
    client, hub = limited
    alice = make_user(hub, "alice")
    client.post("/api/repos/create", json={"name": "m"}, headers=auth(alice.token))
    batch = {"operation": "upload", "objects": [{"oid": LFS_OID, "size": len(LFS_CONTENT)}]}
    answer = client.post("/alice/m.git/info/lfs/objects/batch", json=batch, headers=auth(alice.token))
    href = answer.json()["objects"][0]["actions"]["upload"]["href"]

    uploads = [client.put(href, content=LFS_CONTENT).status_code for _ in range(4)]

    assert uploads == [200] * 4
    assert [client.get("/api/health").status_code for _ in range(3)] == [200, 200, 429]
