"""Background jobs through the admin API (``/api/hubstead/admin/jobs``), on every database backend: listings
with filters and pages, one job with its log, cancelling and retrying, for site admins only (a read token
looks, a write token acts); and the conversion an LFS upload queues, listed with its repo."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from sqlalchemy import select, update
from starlette.testclient import TestClient

from hubstead.audit.models import AuditEvent
from hubstead.config import Settings
from hubstead.jobs.models import Job, JobState
from hubstead.repos.models import Repo
from tests.api._support import auth
from tests.conftest import User, make_user
from tests.unit.jobs.tasks_for_tests import MODULE

JOBS = "/api/hubstead/admin/jobs"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # no in-process worker: the jobs stay as each test leaves them
    jobs = settings.jobs.model_copy(update={"in_process_worker": False, "task_modules": [MODULE]})
    return settings.model_copy(update={"jobs": jobs})


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def root(hub: Any) -> User:
    return make_user(hub, "root", is_admin=True)


def enqueue(hub: Any, kind: str = "test.record", state: JobState = JobState.QUEUED, **options: Any) -> int:
    with hub.sessions.begin() as session:
        job = hub.jobs.enqueue(session, kind, {"path": "/dev/null"}, **options)
        if state != JobState.QUEUED:
            job.state, job.attempts, job.error = (
                state,
                1,
                "RuntimeError: it broke" if state == JobState.FAILED else None,
            )
        return job.id


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [job["id"] for job in response.json()]


def test_jobs_are_listed_newest_first_with_filters_and_pages(client, hub, root, user):
    created = client.post("/api/repos/create", json={"name": "model"}, headers=auth(user.token))
    assert created.status_code == 200, created.text
    with hub.sessions() as session:
        repo_pk = session.scalar(select(Repo.id).where(Repo.name == "model"))
    queued = [enqueue(hub) for _ in range(3)]
    failed = enqueue(hub, state=JobState.FAILED)
    train = enqueue(hub, "test.train", repo_id=repo_pk)
    get = lambda **params: client.get(JOBS, params=params, headers=auth(root.token))  # noqa: E731

    assert ids(get()) == [train, failed, *reversed(queued)]
    assert ids(get(state="failed")) == [failed]
    assert ids(get(state="failed,queued", kind="test.record")) == [failed, *reversed(queued)]
    assert ids(get(repo="alice/model")) == ids(get(repo="alice/MODEL", repoType="model")) == [train]
    assert ids(get(repo="alice/model", repoType="dataset")) == ids(get(repo="alice/other")) == []
    assert ids(get(limit=2)) == [train, failed]
    assert ids(get(limit=2, before=failed)) == [queued[2], queued[1]]

    (listed,) = get(kind="test.train").json()
    assert listed["repo"] == {"type": "model", "id": "alice/model"}
    assert (listed["state"], listed["attempts"], listed["maxAttempts"], listed["progress"]) == (
        "queued",
        0,
        5,
        0.0,
    )  # the default
    assert listed["payload"] == {"path": "/dev/null"}
    assert listed["createdAt"].endswith("Z")
    assert "log" not in listed
    assert get(state="failed").json()[0]["error"] == "RuntimeError: it broke"


@pytest.mark.parametrize(
    "params",
    [{"state": "sleeping"}, {"limit": "0"}, {"limit": "1001"}, {"repo": "no-slash"}, {"repoType": "x", "repo": "a/b"}],
)
def test_bad_filters_are_refused_with_a_clear_message(client, root, params):
    response = client.get(JOBS, params=params, headers=auth(root.token))
    assert response.status_code == 400
    assert response.json()["error"]


def test_one_job_shows_its_log(client, hub, root, tmp_path):
    job_id = enqueue(hub)
    with hub.sessions.begin() as session:
        session.execute(update(Job).where(Job.id == job_id).values(payload={"path": str(tmp_path / "runs")}))
    hub.wait_for_jobs(20)

    response = client.get(f"{JOBS}/{job_id}", headers=auth(root.token))

    assert response.status_code == 200, response.text
    job = response.json()
    assert (job["id"], job["kind"], job["state"], job["progress"]) == (job_id, "test.record", "succeeded", 1.0)
    assert "attempt 1 of 3 started on" in job["log"]
    assert job["finishedAt"].endswith("Z")
    for missing in ("999999", "abc", "99999999999999999999"):
        assert client.get(f"{JOBS}/{missing}", headers=auth(root.token)).status_code == 404


def test_cancelling_a_queued_job_and_asking_a_running_one_to_stop(client, hub, root):
    queued, running = enqueue(hub), enqueue(hub)
    held = hub.jobs.claim(["test.record"], "elsewhere")
    assert held is not None
    assert held.job_id == queued  # the older one; swap roles
    queued, running = running, queued

    cancelled = client.post(f"{JOBS}/{queued}/cancel", headers=auth(root.token))
    asked = client.post(f"{JOBS}/{running}/cancel", headers=auth(root.token))

    assert (cancelled.status_code, cancelled.json()["state"]) == (200, "cancelled")
    assert cancelled.json()["finishedAt"] is not None
    assert (asked.status_code, asked.json()["state"], asked.json()["cancelRequested"]) == (200, "running", True)
    assert hub.jobs.heartbeat(held) is True  # its worker hears of it
    again = client.post(f"{JOBS}/{queued}/cancel", headers=auth(root.token))
    assert again.status_code == 409
    assert "already finished" in again.json()["error"]
    with hub.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "job.cancel")).all()
        assert [(e.actor, e.target) for e in events] == [("root", str(queued)), ("root", str(running))]


def test_a_failed_job_is_retried_with_all_its_attempts(client, hub, root):
    failed, waiting = enqueue(hub, state=JobState.FAILED), enqueue(hub)

    retried = client.post(f"{JOBS}/{failed}/retry", headers=auth(root.token))

    assert retried.status_code == 200, retried.text
    assert (retried.json()["state"], retried.json()["attempts"]) == ("queued", 0)
    assert "queued again by an administrator" in retried.json()["log"]
    refused = client.post(f"{JOBS}/{waiting}/retry", headers=auth(root.token))
    assert refused.status_code == 409
    assert "Only a failed or cancelled job can be retried" in refused.json()["error"]


def test_only_site_admins_see_jobs_and_only_with_a_write_token_act_on_them(client, hub, root, user):
    job_id = enqueue(hub)
    fine = client.post(
        "/api/hubstead/tokens",
        json={
            "displayName": "ci",
            "role": "fineGrained",
            "fineGrained": {"scoped": [], "global": ["discussion.write"]},
        },
        headers=auth(root.token),
    )
    assert fine.status_code == 200, fine.text
    reads = [("GET", JOBS), ("GET", f"{JOBS}/{job_id}")]
    writes = [("POST", f"{JOBS}/{job_id}/cancel"), ("POST", f"{JOBS}/{job_id}/retry")]

    for method, url in reads + writes:
        assert client.request(method, url).status_code == 401, url
        for token in (user.token, user.read_token, fine.json()["token"]):
            assert client.request(method, url, headers=auth(token)).status_code == 403, (url, token)
    for method, url in reads:
        assert client.request(method, url, headers=auth(root.read_token)).status_code == 200
    for method, url in writes:
        assert client.request(method, url, headers=auth(root.read_token)).status_code == 403

    with hub.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.state, job.cancel_requested) == (JobState.QUEUED, False)  # nothing was changed


def test_an_lfs_upload_queues_its_conversion_listed_with_its_repo(live_server, hub, root, user):
    api = HfApi(endpoint=live_server, token=user.token)
    repo_id = api.create_repo("weights").repo_id
    api.upload_file(path_or_fileobj=b"\x00\x01binary" * 10_000, path_in_repo="w.bin", repo_id=repo_id)
    with httpx.Client(base_url=live_server, headers=auth(root.token)) as http:
        (job,) = http.get(JOBS, params={"kind": "xet.convert"}).json()
        assert (job["state"], job["repo"]) == ("queued", {"type": "model", "id": repo_id})
        assert job["dedupKey"] == f"xet.convert:{job['payload']['oid']}"
        hub.wait_for_jobs(60)
        done = http.get(f"{JOBS}/{job['id']}").json()
    assert (done["state"], done["progress"]) == ("succeeded", 1.0)
    assert "converted to Xet file" in done["log"]
    assert api.get_paths_info(repo_id, ["w.bin"])[0].xet_hash is not None
