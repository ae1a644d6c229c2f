"""datasets against a live Hubstead: DatasetDict.push_to_hub / load_dataset round trips and raw CSV repos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def test_pushed_dataset_dict_loads_back_with_the_same_rows(live_server: str, user: Any, tmp_path: Path) -> None:
    repo_id = f"{user.name}/reviews"
    original = datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(TRAIN), "test": datasets.Dataset.from_dict(TEST)}
    )
    original.push_to_hub(repo_id, token=user.token)

    files = HfApi(endpoint=live_server, token=user.token).list_repo_files(repo_id, repo_type="dataset")
    assert "README.md" in files
    assert any(f.startswith("data/train-") and f.endswith(".parquet") for f in files)
    assert any(f.startswith("data/test-") and f.endswith(".parquet") for f in files)

    loaded = datasets.load_dataset(repo_id, token=user.token, cache_dir=str(tmp_path / "ds-cache"))

    assert set(loaded) == {"train", "test"}
    assert loaded["train"].to_dict() == TRAIN
    assert loaded["test"].to_dict() == TEST
    assert loaded["train"].features == original["train"].features


def test_private_pushed_dataset_needs_a_token_to_load(live_server: str, user: Any, tmp_path: Path) -> None:
    repo_id = f"{user.name}/private-reviews"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(TRAIN)}).push_to_hub(
        repo_id, token=user.token, private=True
    )

    # anonymous first: huggingface_hub serves README.md from its (per-test) cache when the HEAD call fails,
    # so a warm cache would hide the server's answer
    with pytest.raises(
        datasets.exceptions.DatasetNotFoundError, match="doesn't exist on the Hub or cannot be accessed"
    ):
        datasets.load_dataset(repo_id, cache_dir=str(tmp_path / "anonymous"))

    loaded = datasets.load_dataset(repo_id, token=user.read_token, cache_dir=str(tmp_path / "with-token"))
    assert loaded["train"].to_dict() == TRAIN


def test_csv_only_dataset_repo_loads_its_rows(live_server: str, user: Any, tmp_path: Path) -> None:
    repo_id = f"{user.name}/cities"
    api = HfApi(endpoint=live_server, token=user.token)
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"city,country,population\nParis,France,2102650\nLyon,France,522250\nTurin,Italy,841600\n",
        path_in_repo="cities.csv",
        repo_id=repo_id,
        repo_type="dataset",
    )

    loaded = datasets.load_dataset(repo_id, cache_dir=str(tmp_path / "ds-cache"))

    assert list(loaded) == ["train"]
    assert loaded["train"].to_dict() == {
        "city": ["Paris", "Lyon", "Turin"],
        "country": ["France", "France", "Italy"],
        "population": [2102650, 522250, 841600],
    }


def test_second_push_replaces_rows_and_drops_stale_splits(live_server: str, user: Any, tmp_path: Path) -> None:
    repo_id = f"{user.name}/evolving"
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(TRAIN), "test": datasets.Dataset.from_dict(TEST)}
    ).push_to_hub(repo_id, token=user.token)
    api = HfApi(endpoint=live_server, token=user.token)
    first_sha = api.dataset_info(repo_id).sha

    # re-pushing the same split names must replace the shards (datasets deletes the old data/ files
    # in its final commit, which it pins to the current head with parent_commit)
    new_train = {"text": ["only row"], "label": [1], "score": [0.5]}
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(new_train), "test": datasets.Dataset.from_dict(TEST)}
    ).push_to_hub(repo_id, token=user.token)

    assert api.dataset_info(repo_id).sha != first_sha
    train_files = [f for f in api.list_repo_files(repo_id, repo_type="dataset") if f.startswith("data/train-")]
    assert len(train_files) == 1
    loaded = datasets.load_dataset(repo_id, cache_dir=str(tmp_path / "ds-cache"))
    assert loaded["train"].to_dict() == new_train
    assert loaded["test"].to_dict() == TEST


def test_pushed_dataset_on_a_branch_loads_by_revision(live_server: str, user: Any, tmp_path: Path) -> None:
    repo_id = f"{user.name}/branched"
    datasets.Dataset.from_dict(TRAIN).push_to_hub(repo_id, token=user.token)
    datasets.Dataset.from_dict(TEST).push_to_hub(repo_id, token=user.token, revision="v2")

    on_main = datasets.load_dataset(repo_id, split="train", cache_dir=str(tmp_path / "main"))
    on_v2 = datasets.load_dataset(repo_id, split="train", revision="v2", cache_dir=str(tmp_path / "v2"))
    assert on_main.to_dict() == TRAIN
    assert on_v2.to_dict() == TEST


def test_csv_dataset_streams_its_rows(live_server: str, user: Any) -> None:
    repo_id = f"{user.name}/streamed"
    api = HfApi(endpoint=live_server, token=user.token)
    api.create_repo(repo_id, repo_type="dataset", private=True)
    rows = "".join(f"{i},name-{i}\n" for i in range(50))
    api.upload_file(
        path_or_fileobj=f"id,name\n{rows}".encode(),
        path_in_repo="data/train.csv",
        repo_id=repo_id,
        repo_type="dataset",
    )

    stream = datasets.load_dataset(repo_id, split="train", streaming=True, token=user.read_token)

    assert list(stream.take(3)) == [
        {"id": 0, "name": "name-0"},
        {"id": 1, "name": "name-1"},
        {"id": 2, "name": "name-2"},
    ]
    assert sum(1 for _ in stream) == 50
