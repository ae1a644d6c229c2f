"""``hubstead train CONFIG.yaml [--wait]`` against a live hub, with HF_ENDPOINT and HF_TOKEN."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from huggingface_hub import HfApi

from tests.conftest import User
from tests.training.conftest import push_bert, push_sentiment

pytestmark = pytest.mark.slow
SRC = str(Path(__file__).resolve().parents[2] / "src")


def hubstead_train(*args: str, token: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"HF_TOKEN": token, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-c", "from hubstead.cli.main import main; raise SystemExit(main())", "train", *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_train_wait_submits_follows_and_ends_with_the_model(
    hub: Any, user: User, live_server: str, tmp_path: Path
) -> None:
    push_bert(f"{user.name}/tiny-bert", user.token)
    push_sentiment(f"{user.name}/sentiment", user.token)
    config = tmp_path / "train.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "task": "text-classification",
                "base_model": f"{user.name}/tiny-bert",
                "dataset": f"{user.name}/sentiment",
                "train_split": "train",
                "eval_split": "test",
                "text_column": "text",
                "label_column": "label",
                "output_repo": f"{user.name}/from-cli",
                "epochs": 1,
                "learning_rate": 0.001,
                "batch_size": 8,
            }
        )
    )
    worker = hub.make_worker(kinds=["train"]).start()
    try:
        done = hubstead_train(str(config), "--wait", token=user.token)
    finally:
        worker.stop(grace=0)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "submitted job" in done.stdout
    assert "succeeded" in done.stdout
    assert HfApi(endpoint=live_server, token=user.token).file_exists(f"{user.name}/from-cli", "model.safetensors")


def test_a_bad_config_file_fails_before_anything_is_sent(user: User, live_server: str, tmp_path: Path) -> None:
    config = tmp_path / "train.yaml"
    config.write_text("task: text-classification\nbase_model: a/b\ndataset: a/c\noutput_repo: a/d\nepochs: -1\n")
    done = hubstead_train(str(config), token=user.token)
    assert done.returncode == 2
    assert "epochs:" in done.stderr
