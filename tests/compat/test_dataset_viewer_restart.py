"""A dataset conversion cut short by a server killed outright is run again (its lease expires) and finishes
after the restart: the job is in the database, its half-built derived data is thrown away, and the viewer
then serves the whole split."""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from sqlalchemy import select

from hubstead.datasets.tasks import CONVERT
from hubstead.jobs.models import Job, JobState
from tests.compat.test_xet_restart import _free_port, _serve
from tests.conftest import make_user

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytestmark = pytest.mark.slow
ROWS = 1_500_000


def _job(hub: Any) -> Job | None:
    with hub.sessions() as session:
        return session.scalars(select(Job).where(Job.kind == CONVERT).order_by(Job.id.desc())).first()


def test_a_conversion_cut_short_by_a_server_crash_is_retried_and_finishes(hub: Any, tmp_path: Path) -> None:
    token = make_user(hub, "alice").token
    port, log = _free_port(), tmp_path / "server.log"
    server = _serve(hub, port, log)
    try:
        base = f"http://127.0.0.1:{port}"
        api = HfApi(endpoint=base, token=token)
        repo_id = api.create_repo("big", repo_type="dataset").repo_id
        table = pa.table({"text": [f"words of row {i}" for i in range(ROWS)], "n": list(range(ROWS))})
        out = io.BytesIO()
        pq.write_table(table, out)
        api.upload_file(
            path_or_fileobj=out.getvalue(), path_in_repo="train.parquet", repo_id=repo_id, repo_type="dataset"
        )
        deadline = time.monotonic() + 60
        while (job := _job(hub)) is None or job.state is not JobState.RUNNING:
            assert time.monotonic() < deadline, "the conversion never started"
            time.sleep(0.05)
        os.kill(server.pid, signal.SIGKILL)  # mid-way: converting 1.5M rows takes longer than this
        server.wait(10)
        running = _job(hub)
        assert running is not None
        assert running.state is JobState.RUNNING

        server = _serve(hub, port, log)
        params = {"dataset": repo_id, "config": "default", "split": "train", "offset": ROWS - 1, "length": 1}
        deadline = time.monotonic() + 180
        while (answer := httpx.get(f"{base}/datasets-server/rows", params=params, timeout=30)).status_code != 200:
            assert answer.status_code == 422, answer.text  # ResponseNotReady while it runs again
            assert time.monotonic() < deadline, "the conversion never finished"
            time.sleep(0.5)
        assert answer.json()["rows"][0]["row"] == {"text": f"words of row {ROWS - 1}", "n": ROWS - 1}
        finished = _job(hub)
        assert finished is not None
        assert finished.state is JobState.SUCCEEDED
        assert finished.attempts == 2
        leftovers = [p.name for p in (hub.settings.data_dir / "datasets").rglob("*") if ".building-" in p.name]
        assert leftovers == []
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(30)
