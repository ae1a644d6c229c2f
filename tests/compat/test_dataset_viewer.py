"""The dataset viewer against a live Hubstead: every push to a dataset's main branch is converted to parquet on
refs/convert/parquet (a background job), and the viewer API under /datasets-server/ serves its rows."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest

datasets = pytest.importorskip("datasets")

from huggingface_hub import HfApi  # noqa: E402

pytestmark = pytest.mark.slow

TRAIN = {
    "text": ["a good film", "a bad film", "quite fine", "not great"],
    "label": [1, 0, 1, 0],
    "score": [0.9, 0.1, 0.7, 0.3],
}
TEST = {"text": ["lovely", "awful"], "label": [1, 0], "score": [0.8, 0.2]}


def _viewer(live_server: str, path: str, token: str | None = None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{live_server}/datasets-server/{path}", params=params, headers=headers, timeout=60)


def _upload(api: HfApi, repo_id: str, files: dict[str, bytes]) -> None:
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    from huggingface_hub import CommitOperationAdd

    ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=io.BytesIO(b)) for p, b in files.items()]
    api.create_commit(repo_id, ops, commit_message="data", repo_type="dataset")


def test_pushed_dataset_dict_is_converted_and_served(live_server: str, hub: Any, user: Any, tmp_path: Path) -> None:
    repo_id = f"{user.name}/reviews"
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(TRAIN), "test": datasets.Dataset.from_dict(TEST)}
    ).push_to_hub(repo_id, token=user.token)
    hub.wait_for_jobs(300)

    api = HfApi(endpoint=live_server, token=user.token)
    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    assert [c.ref for c in refs.converts] == ["refs/convert/parquet"]
    files = api.list_repo_files(repo_id, repo_type="dataset", revision="refs/convert/parquet")
    assert {"default/train/0000.parquet", "default/test/0000.parquet"} <= set(files)

    loaded = datasets.load_dataset(
        repo_id, revision="refs/convert/parquet", token=user.token, cache_dir=str(tmp_path / "c")
    )
    assert loaded["train"].to_dict() == TRAIN
    assert loaded["test"].to_dict() == TEST

    splits = _viewer(live_server, "splits", user.token, dataset=repo_id).json()
    assert splits["splits"] == [
        {"dataset": repo_id, "config": "default", "split": "train"},
        {"dataset": repo_id, "config": "default", "split": "test"},
    ]
