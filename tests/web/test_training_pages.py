"""The training pages: the form submits a job, the job page (``/jobs/{owner}/{id}``) shows its state, the loss curve
drawn live, the log and Cancel; a job is its owner's (another user finds nothing; anonymous visitors sign in)."""

from __future__ import annotations

import os
import re
from typing import Any

import httpx
import pytest

from hubstead.config import Settings, TrainingSettings
from hubstead.jobs.models import JobState
from tests.conftest import User
from tests.training.conftest import push_bert, push_sentiment
from tests.web._support import csrf_token, screenshot, session_cookie

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"training": TrainingSettings(hub_url=os.environ["HF_ENDPOINT"])})


def browser(live_server: str, hub: Any, name: str | None) -> httpx.Client:
    client = httpx.Client(base_url=live_server, timeout=30, headers={"accept": "text/html"})
    if name is not None:
        client.cookies.set("hubstead_session", session_cookie(hub, name))
    return client


def submit_form(client: httpx.Client, **fields: str) -> httpx.Response:
    token = csrf_token(client, "/training/new")
    return client.post("/training/new", data={"csrf_token": token, "task": "text-classification", **fields})


def test_the_form_names_the_bad_field_and_jobs_are_their_owners(
    live_server: str, hub: Any, user: User, other_user: User
) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=live_server, token=user.token)
    api.create_repo(f"{user.name}/base")
    api.create_repo(f"{user.name}/data", repo_type="dataset")
    with browser(live_server, hub, user.name) as alice:
        bad = submit_form(alice, base_model=f"{user.name}/base", dataset=f"{user.name}/data",
                          output_repo=f"{user.name}/out", learning_rate="lots")  # fmt: skip
        assert bad.status_code == 400
        assert "learning_rate:" in bad.text
        good = submit_form(alice, base_model=f"{user.name}/base", dataset=f"{user.name}/data",
                           output_repo=f"{user.name}/out", private="on")  # fmt: skip
        assert good.status_code == 303
        job_url = good.headers["location"]
        assert re.fullmatch(rf"/jobs/{user.name}/\d+", job_url)
        assert "data-training-job" in alice.get(job_url).text
        assert job_url in alice.get("/training").text
    with browser(live_server, hub, other_user.name) as bob:
        assert bob.get(job_url).status_code == 404
        assert job_url not in bob.get("/training").text
        assert bob.post(f"{job_url}/cancel", data={"csrf_token": csrf_token(bob, "/training/new")}).status_code == 404
    with browser(live_server, hub, None) as anonymous:
        assert anonymous.get(job_url).headers["location"].startswith("/login")


@pytest.mark.slow
def test_the_job_page_draws_the_loss_curve_live(new_page: Any, live_server: str, hub: Any, user: User) -> None:
    push_bert(f"{user.name}/tiny-bert", user.token)
    push_sentiment(f"{user.name}/sentiment", user.token, rows=64)
    page = new_page(cookie=session_cookie(hub, user.name))
    page.goto("/training/new")
    page.fill("input[name=base_model]", f"{user.name}/tiny-bert")
    page.fill("input[name=dataset]", f"{user.name}/sentiment")
    page.fill("input[name=output_repo]", f"{user.name}/from-the-form")
    page.fill("input[name=epochs]", "3")
    page.fill("input[name=batch_size]", "4")
    page.fill("input[name=learning_rate]", "0.001")
    page.click("[data-training-form] button[type=submit]")
    page.wait_for_url(re.compile(rf"/jobs/{user.name}/\d+$"))
    expect(page.locator("h1 [data-job-state]")).to_have_text("queued")

    worker = hub.make_worker(kinds=["train"]).start()
    try:
        expect(page.locator('[data-series="loss"]')).to_have_attribute(
            "points", re.compile(r"\d+\.\d,\d"), timeout=120_000
        )
        expect(page.locator("h1 [data-job-state]")).to_have_text("succeeded", timeout=180_000)
    finally:
        worker.stop(grace=0)
    expect(page.locator('[data-series="eval_loss"]')).to_have_attribute("points", re.compile(r"\d+\.\d,\d"))
    expect(page.locator("[data-job-log]")).to_contain_text("pushed")
    screenshot(page, "training-job")
    page.reload()  # drawn by the server too
    points = page.locator('[data-series="loss"]').get_attribute("points") or ""
    assert len(points.split()) >= 3
    assert JobState.SUCCEEDED.value in page.locator("h1 [data-job-state]").inner_text()
