"""Training jobs over HTTP: Hubstead's own routes and huggingface_hub's jobs calls (run_job, list_jobs, inspect_job,
cancel_job, fetch_job_logs). A user sees only their own jobs; site admins see all; submitting checks access."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import BadRequestError, HfHubHTTPError

from tests.conftest import User, make_user


def config(user: User, **extra: Any) -> dict[str, Any]:
    return {
        "task": "text-classification",
        "base_model": f"{user.name}/base",
        "dataset": f"{user.name}/data",
        "output_repo": f"{user.name}/out",
        "epochs": 1,
        "learning_rate": 0.001,
        "batch_size": 4,
    } | extra


@pytest.fixture
def repos(live_server: str, user: User) -> HfApi:
    api = HfApi(endpoint=live_server, token=user.token)
    api.create_repo(f"{user.name}/base")
    api.create_repo(f"{user.name}/data", repo_type="dataset", private=True)
    return api


def command(cfg: dict[str, Any]) -> list[str]:
    return ["hubstead", "train", "--config", json.dumps(cfg)]


def test_run_job_submits_and_the_jobs_calls_see_it(
    repos: HfApi, user: User, other_user: User, live_server: str
) -> None:
    job = repos.run_job(image="hubstead", command=command(config(user)))

    assert job.status.stage == "SCHEDULING"
    assert job.owner.name == user.name
    assert job.url == f"{live_server}/jobs/{user.name}/{job.id}"
    # list_jobs() without a namespace asks whoami with the saved token, not the HfApi's own: name it
    assert [j.id for j in repos.list_jobs(namespace=user.name)] == [job.id]
    assert repos.inspect_job(job_id=job.id).status.stage == "SCHEDULING"
    other = HfApi(endpoint=live_server, token=other_user.token)
    assert list(other.list_jobs(namespace=other_user.name)) == []
    assert list(other.list_jobs(namespace=user.name)) == []
    with pytest.raises(HfHubHTTPError) as missing:
        other.inspect_job(job_id=job.id, namespace=user.name)
    assert missing.value.response.status_code == 404
    with pytest.raises(HfHubHTTPError):
        other.cancel_job(job_id=job.id, namespace=user.name)

    repos.cancel_job(job_id=job.id)

    assert repos.inspect_job(job_id=job.id).status.stage == "CANCELED"
    # follow=True ends once the job has (it is cancelled); follow=False gives the server only 5 s to answer
    assert any("cancelled" in line for line in repos.fetch_job_logs(job_id=job.id, follow=True))


def test_key_value_commands_submit_too(repos: HfApi, user: User) -> None:
    args = [f"{k}={v}" for k, v in config(user).items()]
    job = repos.run_job(image="hubstead:latest", command=["hubstead", "train", *args])
    assert json.loads(job.command[3])["learning_rate"] == 0.001


@pytest.mark.parametrize(
    ("image", "cmd"),
    [("python:3.12", ["python", "-c", "print(1)"]), ("hubstead", ["bash", "-c", "true"])],
)
def test_other_images_and_commands_answer_400(repos: HfApi, image: str, cmd: list[str]) -> None:
    with pytest.raises(BadRequestError):
        repos.run_job(image=image, command=cmd)


def test_a_site_admin_sees_every_job(repos: HfApi, hub: Any, user: User, live_server: str) -> None:
    job = repos.run_job(image="hubstead", command=command(config(user)))
    root = make_user(hub, "root", is_admin=True)
    admin = HfApi(endpoint=live_server, token=root.token)
    assert admin.inspect_job(job_id=job.id, namespace=user.name).id == job.id
    response = httpx.get(f"{live_server}/api/hubstead/training/jobs", headers={"authorization": f"Bearer {root.token}"})
    assert [j["id"] for j in response.json()] == [job.id]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"learning_rate": -1}, "learning_rate"),
        ({"task": "translation"}, "task"),
        ({"colour": "blue"}, "colour"),
        ({"dataset": "nobody/nothing"}, "dataset"),
        ({"base_model": "not-a-repo-id"}, "base_model"),
        ({"output_repo": "acme/out"}, "output_repo"),
    ],
)
def test_a_bad_submission_answers_400_naming_the_field(
    repos: HfApi, user: User, live_server: str, change: dict[str, Any], field: str
) -> None:
    response = httpx.post(
        f"{live_server}/api/hubstead/training/jobs",
        json=config(user) | change,
        headers={"authorization": f"Bearer {user.token}"},
    )
    assert response.status_code == 400
    assert response.headers["x-error-message"].startswith(f"{field}:")


def test_a_private_dataset_of_another_user_looks_missing(
    repos: HfApi, user: User, other_user: User, live_server: str
) -> None:
    answers = []
    for dataset in (f"{user.name}/data", "nobody/nothing"):
        response = httpx.post(
            f"{live_server}/api/hubstead/training/jobs",
            json=config(other_user, base_model=f"{user.name}/base", dataset=dataset),
            headers={"authorization": f"Bearer {other_user.token}"},
        )
        answers.append((response.status_code, response.headers["x-error-message"].replace(dataset, "X")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 400


def test_a_yaml_config_submits_and_a_read_token_may_not(repos: HfApi, user: User, live_server: str) -> None:
    import yaml

    text = yaml.safe_dump(config(user))
    url = f"{live_server}/api/hubstead/training/jobs"
    ok = httpx.post(url, json={"config": text}, headers={"authorization": f"Bearer {user.token}"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["state"] == "queued"
    refused = httpx.post(url, json={"config": text}, headers={"authorization": f"Bearer {user.read_token}"})
    assert refused.status_code == 403
    detail = httpx.get(f"{url}/{ok.json()['id']}", headers={"authorization": f"Bearer {user.read_token}"})
    assert detail.json()["config"]["output_repo"] == f"{user.name}/out"
    assert httpx.get(f"{url}/{ok.json()['id']}").status_code == 401


@pytest.mark.parametrize(
    "spec",
    [
        {"dockerImage": "hubstead", "command": 5},
        {"dockerImage": "hubstead", "command": ["hubstead", "train"], "arguments": "x"},
        {"dockerImage": "hubstead", "command": ["hubstead", "train", 7]},
        {"dockerImage": "hubstead", "command": ["hubstead", "train", "epochs"]},
        {"dockerImage": "hubstead", "command": ["hubstead", "train", "--config", "{unclosed"]},
        [],
    ],
)
def test_malformed_run_job_specs_answer_400(repos: HfApi, user: User, live_server: str, spec: Any) -> None:
    response = httpx.post(
        f"{live_server}/api/jobs/{user.name}", json=spec, headers={"authorization": f"Bearer {user.token}"}
    )
    assert response.status_code == 400


def test_listing_a_namespace_no_account_can_have_is_empty(hub: Any, live_server: str) -> None:
    root = make_user(hub, "root", is_admin=True)
    headers = {"authorization": f"Bearer {root.token}"}
    response = httpx.get(f"{live_server}/api/jobs/{'x' * 300}", headers=headers)
    assert response.status_code == 200
    assert response.json() == []
    assert httpx.get(f"{live_server}/api/jobs/a%00b", headers=headers).status_code == 400  # refused before the route
