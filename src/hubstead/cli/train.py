"""``hubstead train CONFIG.yaml [--wait]``: submit a training job to the hub named by ``HF_ENDPOINT`` with
``HF_TOKEN`` (a client of the hub's API, like ``huggingface_hub``), and with ``--wait`` follow it: its progress,
then its outcome (exit status 0 only if it succeeded)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from huggingface_hub import get_session

from hubstead.errors import TrainingConfigError
from hubstead.training.config import load_config_text

FINISHED = {"succeeded", "failed", "cancelled"}
POLL_SECONDS = 2.0


def add_parser(sub: Any) -> None:
    train = sub.add_parser("train", help="submit a training job (HF_ENDPOINT, HF_TOKEN)")
    train.add_argument("config", type=Path, help="the job's configuration, YAML or JSON")
    train.add_argument("--wait", action="store_true", help="follow the job until it ends")
    train.add_argument("--endpoint", default=None, help="the hub (default: HF_ENDPOINT)")
    train.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    endpoint = (args.endpoint or os.environ.get("HF_ENDPOINT") or "").rstrip("/")
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if not endpoint or not token:
        print("hubstead train needs HF_ENDPOINT (the hub) and HF_TOKEN (a write token)", file=sys.stderr)
        return 2
    text = args.config.read_text()
    try:
        load_config_text(text)  # a malformed file fails here, naming the field, before anything is sent
    except TrainingConfigError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    api = _Api(endpoint, token)
    response = api.request("POST", "/api/hubstead/training/jobs", json={"config": text})
    if response.status_code != 200:
        print(f"refused: {response.headers.get('x-error-message') or response.text}", file=sys.stderr)
        return 1
    job = response.json()
    print(f"submitted job {job['id']}: {job['url']}", flush=True)
    return follow(api, job["id"]) if args.wait else 0


class _Api:
    def __init__(self, endpoint: str, token: str) -> None:
        self.endpoint, self.headers = endpoint, {"authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return get_session().request(method, self.endpoint + path, headers=self.headers, timeout=60, **kwargs)


def follow(api: _Api, job_id: str) -> int:
    shown = ""
    while True:
        response = api.request("GET", f"/api/hubstead/training/jobs/{job_id}")
        response.raise_for_status()
        job = response.json()
        if job["progressMessage"] and job["progressMessage"] != shown:
            shown = job["progressMessage"]
            print(f"[{job['state']}] {shown}", flush=True)
        if job["state"] in FINISHED:
            print(f"job {job_id} {job['state']}" + (f": {job['error']}" if job["error"] else ""))
            if job["state"] == "succeeded":
                print(f"model: {api.endpoint}/{job['outputRepo']}")
            return 0 if job["state"] == "succeeded" else 1
        time.sleep(POLL_SECONDS)
