"""A worker killed mid-training (SIGKILL: no chance to hand the job back) leaves its checkpoints; once its lease
expires another worker takes the job over and resumes from the last checkpoint instead of starting again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hubstead.jobs.models import Job, JobState
from tests.conftest import User
from tests.training.conftest import push_bert, push_sentiment
from tests.training.test_train_jobs import submit, text_config

pytestmark = pytest.mark.slow
SRC = str(Path(__file__).resolve().parents[2] / "src")


def start_worker(hub: Any) -> subprocess.Popen[str]:
    settings = hub.settings
    env = os.environ | {
        "PYTHONPATH": SRC,
        "HUBSTEAD_DATA_DIR": str(settings.data_dir),
        "HUBSTEAD_DATABASE_URL": settings.database_url,
        "HUBSTEAD_SECRET_KEY": "test-secret",
        "HUBSTEAD_TRAINING__HUB_URL": settings.training.hub_url,
        "HUBSTEAD_JOBS__LEASE_SECONDS": "3",
        "HUBSTEAD_JOBS__HEARTBEAT_SECONDS": "1",
    }
    code = "from hubstead.cli.main import main; raise SystemExit(main())"
    return subprocess.Popen(
        [sys.executable, "-c", code, "worker", "--kinds", "train"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def log_of(hub: Any, job_id: int) -> tuple[JobState, str, int]:
    with hub.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.state, job.log, job.attempts


def test_a_killed_worker_s_job_resumes_from_its_checkpoint(hub: Any, user: User, live_server: str) -> None:
    push_bert(f"{user.name}/tiny-bert", user.token)
    push_sentiment(f"{user.name}/sentiment", user.token)
    job_id = submit(hub, user, text_config(user, max_steps=150, eval_steps=10, batch_size=2))
    worker = start_worker(hub)
    try:
        deadline = time.monotonic() + 180
        while "saved checkpoint-" not in log_of(hub, job_id)[1]:
            assert worker.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, log_of(hub, job_id)[1]
            time.sleep(0.1)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    state, log, _ = log_of(hub, job_id)
    assert state == JobState.RUNNING, log  # killed mid-training

    hub.wait_for_jobs(600)  # claims the job once the dead worker's lease expires

    state, log, attempts = log_of(hub, job_id)
    assert state == JobState.SUCCEEDED, log
    assert attempts == 2
    assert "resuming from checkpoint-" in log
    resumed_at = int(log.split("resuming from checkpoint-")[1].split()[0])
    assert resumed_at >= 10
