"""The background jobs pages (``/admin/jobs``): site admins see jobs with their state, progress and log, and
cancel or retry them; anyone else is refused (anonymous visitors are sent to sign in). Over plain HTTP on every
database backend, and once in Chromium. Also: a file uploaded in the browser queues its conversion to Xet, as
an upload through the API does."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hubstead.config import Settings
from hubstead.jobs.models import Job, JobState
from hubstead.xet.models import XetLfsConversion
from tests.conftest import User, make_user
from tests.unit.jobs.tasks_for_tests import MODULE
from tests.web._support import csrf_token, screenshot, seed, session_cookie

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None


@pytest.fixture
def settings(settings: Settings) -> Settings:
    jobs = settings.jobs.model_copy(update={"task_modules": [MODULE]})
    return settings.model_copy(update={"jobs": jobs})


@pytest.fixture
def root(hub: Any) -> User:
    return make_user(hub, "root", is_admin=True)


def enqueue(hub: Any, kind: str = "test.record", payload: dict[str, Any] | None = None) -> int:
    with hub.sessions.begin() as session:
        return hub.jobs.enqueue(session, kind, payload or {"path": "/dev/null"}).id


def load(hub: Any, job_id: int) -> Job:
    with hub.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def browser(live_server: str, hub: Any, name: str | None) -> httpx.Client:
    client = httpx.Client(base_url=live_server, timeout=30, headers={"accept": "text/html"})
    if name is not None:
        client.cookies.set("hubstead_session", session_cookie(hub, name))
    return client


def test_anonymous_visitors_are_sent_to_sign_in(live_server: str, hub: Any) -> None:
    job_id = enqueue(hub)
    with browser(live_server, hub, None) as client:
        listing = client.get("/admin/jobs?state=failed")
        one = client.get(f"/admin/jobs/{job_id}")
        token = csrf_token(client)
        cancel = client.post(f"/admin/jobs/{job_id}/cancel", data={"csrf_token": token})

    assert (listing.status_code, listing.headers["location"]) == (303, "/login?next=/admin/jobs%3Fstate%3Dfailed")
    assert (one.status_code, one.headers["location"]) == (303, f"/login?next=/admin/jobs/{job_id}")
    assert cancel.status_code == 401
    assert load(hub, job_id).state == JobState.QUEUED


def test_users_who_are_not_site_admins_are_refused(live_server: str, hub: Any, user: User) -> None:
    job_id = enqueue(hub)
    with browser(live_server, hub, "alice") as client:
        token = csrf_token(client, "/settings/tokens")
        answers = [
            client.get("/admin/jobs").status_code,
            client.get(f"/admin/jobs/{job_id}").status_code,
            client.post(f"/admin/jobs/{job_id}/cancel", data={"csrf_token": token}).status_code,
            client.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": token}).status_code,
        ]
        menu = client.get("/settings/tokens").text

    assert answers == [403, 403, 403, 403]
    assert "/admin/jobs" not in menu
    job = load(hub, job_id)
    assert (job.state, job.cancel_requested) == (JobState.QUEUED, False)


def test_site_admins_list_filter_cancel_and_retry_jobs(live_server: str, hub: Any, root: User, tmp_path: Path) -> None:
    done = enqueue(hub, payload={"path": str(tmp_path / "runs")})
    hub.wait_for_jobs(20)
    waiting, training = enqueue(hub), enqueue(hub, "test.train")

    with browser(live_server, hub, "root") as client:
        listing = client.get("/admin/jobs")
        assert listing.status_code == 200
        rows = re.findall(r'data-job-id="(\d+)"', listing.text)
        assert rows == [str(training), str(waiting), str(done)]
        assert 'href="/admin/jobs"' in client.get("/settings/tokens").text  # in the admin's menu
        queued_only = client.get("/admin/jobs?state=queued&kind=test.train").text
        assert re.findall(r'data-job-id="(\d+)"', queued_only) == [str(training)]
        assert "Unknown job state" in client.get("/admin/jobs?state=nope").text

        detail = client.get(f"/admin/jobs/{done}")
        assert detail.status_code == 200
        assert "attempt 1 of 3 started on" in detail.text
        assert "succeeded" in detail.text

        token = csrf_token(client, f"/admin/jobs/{waiting}")
        assert client.post(f"/admin/jobs/{waiting}/cancel").status_code == 403  # no CSRF token
        assert load(hub, waiting).state == JobState.QUEUED
        cancelled = client.post(f"/admin/jobs/{waiting}/cancel", data={"csrf_token": token})
        assert (cancelled.status_code, cancelled.headers["location"]) == (303, f"/admin/jobs/{waiting}")
        assert load(hub, waiting).state == JobState.CANCELLED
        again = client.post(f"/admin/jobs/{waiting}/cancel", data={"csrf_token": token})
        assert again.status_code == 409
        assert "already finished" in again.text

        retried = client.post(f"/admin/jobs/{waiting}/retry", data={"csrf_token": token})
        assert retried.status_code == 303
        assert load(hub, waiting).state == JobState.QUEUED
        assert client.get("/admin/jobs/99999").status_code == 404


def test_an_admin_watches_a_running_job_and_cancels_it(
    new_page: Any, live_server: str, hub: Any, root: User, tmp_path: Path
) -> None:
    job_id = enqueue(hub, "test.progress", {"dir": str(tmp_path)})
    worker = hub.make_worker().start()
    try:
        deadline = time.monotonic() + 20
        while "half-way there" not in load(hub, job_id).log:  # reported: the handler now waits
            assert time.monotonic() < deadline
            time.sleep(0.05)
        page = new_page(cookie=session_cookie(hub, "root"))
        page.goto("/")
        page.locator(".usermenu summary").click()
        page.get_by_role("link", name="Background jobs").click()
        row = page.locator(f"tr[data-job-id='{job_id}']")
        expect(row.locator("[data-job-state]")).to_have_text("running")
        expect(row.locator("progress")).to_have_attribute("value", "0.5")
        screenshot(page, "admin-jobs")

        row.get_by_role("link", name=f"#{job_id}").click()
        expect(page.locator("[data-job-log]")).to_contain_text("half-way there")
        expect(page.locator("[data-progress-message]")).to_have_text("half-way")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Cancel").click()
        # asked to stop (or, if its worker was quicker than this page, stopped already)
        expect(page.locator("h1 [data-job-state]")).to_have_text(re.compile(r"running \(cancelling\)|cancelled"))
        expect(page.locator("h1 [data-job-state]")).to_have_text("cancelled", timeout=15_000)  # the page refreshes
        expect(page.locator("[data-job-log]")).to_contain_text("cancelled by an administrator")
        screenshot(page, "admin-job")
    finally:
        worker.stop(grace=0)
    assert load(hub, job_id).state == JobState.CANCELLED


def test_a_file_uploaded_in_the_browser_is_converted_to_xet(live_server: str, hub: Any, user: User) -> None:
    seed(live_server, user.token, "alice/model", {"README.md": b"# model\n"})
    content = bytes(range(256)) * 400  # binary: stored through LFS
    with browser(live_server, hub, "alice") as client:
        token = csrf_token(client, "/alice/model/upload/main")
        uploaded = client.post(
            "/alice/model/upload/main",
            data={"summary": "weights", "csrf_token": token},
            files={"files": ("w.bin", content, "application/octet-stream")},
        )
    assert uploaded.status_code == 303, uploaded.text

    hub.wait_for_jobs(60)

    with hub.sessions() as session:
        (job,) = session.scalars(select(Job).where(Job.kind == "xet.convert")).all()
        assert job.state == JobState.SUCCEEDED
        assert session.get(XetLfsConversion, job.payload["oid"]) is not None
