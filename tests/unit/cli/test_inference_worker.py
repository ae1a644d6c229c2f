"""`hubstead serve` starts one inference worker beside the hub unless told otherwise, and points the hub at it."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from hubstead.cli.main import _start_inference_worker, _stop_process
from hubstead.config import InferenceSettings, Settings


@pytest.mark.parametrize(
    "inference",
    [
        InferenceSettings(enabled=False),
        InferenceSettings(local_worker=False),
        InferenceSettings(worker_url="http://gpu-box:8081"),
    ],
)
def test_serve_starts_no_worker_when_told_not_to(tmp_path: Path, inference: InferenceSettings) -> None:
    settings = Settings(data_dir=tmp_path, inference=inference)
    updated, process = _start_inference_worker(settings, "127.0.0.1", 8080)
    assert process is None
    assert updated.inference.worker_url == inference.worker_url


def test_serve_starts_a_local_worker_and_points_the_hub_at_it(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(data_dir=tmp_path, inference=InferenceSettings(worker_port=port))
    updated, process = _start_inference_worker(settings, "0.0.0.0", 8080)
    assert process is not None
    try:
        assert updated.inference.worker_url == f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                assert httpx.get(f"{updated.inference.worker_url}/health").json() == {"ok": True}
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the inference worker did not start"
                time.sleep(0.2)
    finally:
        _stop_process(process, 20)
    assert process.returncode is not None
