"""The official client with hf_xet, as a default install has it: uploads and downloads go through Xet."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download, snapshot_download

MiB = 1024 * 1024


class RequestLog:
    """Wraps the app: which paths the clients asked for."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)

    def count(self, fragment: str, method: str | None = None) -> int:
        return sum(1 for m, p in self.requests if fragment in p and (method is None or m == method))


@pytest.fixture
def xet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """hf_xet on (the test process turns it off for the LFS tests), with a fresh cache of its own: the server
    is new for every test, and the client must not remember xorbs of an earlier one."""
    from huggingface_hub import constants
    from huggingface_hub.utils import _xet

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    monkeypatch.setenv("HF_XET_CACHE", str(tmp_path / "xet-cache"))
    monkeypatch.setenv("HF_XET_LOG_DEST", str(tmp_path / "xet-logs"))
    _xet._GLOBAL_XET_HOLDER._session = None
    yield
    _xet._GLOBAL_XET_HOLDER._session = None


@pytest.fixture
def log(server_switch: Any) -> RequestLog:
    recorder = RequestLog(server_switch.app)
    server_switch.app = recorder
    return recorder


@pytest.fixture
def api(live_server: str, user: Any, xet: None) -> HfApi:
    return HfApi(endpoint=live_server, token=user.token)


def _random_file(path: Path, size: int, seed: int = 0) -> Path:
    import random

    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_upload_file_goes_through_xet_and_downloads_back(api: HfApi, log: RequestLog, tmp_path: Path, hub) -> None:
    repo_id = api.create_repo("xet-model").repo_id
    src = _random_file(tmp_path / "weights.bin", 3 * MiB + 17)
    api.upload_file(path_or_fileobj=str(src), path_in_repo="weights.bin", repo_id=repo_id)
    assert log.count("/xet-write-token/") >= 1
    assert log.count("/api/hubstead/xet/v1/xorbs/", "POST") + log.count("/api/hubstead/xet/grants/", "PUT") >= 1
    assert log.count("/shards", "POST") == 1
    assert log.count("/info/lfs/objects/batch") == 0  # not through LFS
    # the server holds no whole copy of the file: only xorbs
    assert not hub.blobs.exists(f"lfs/{_sha256(src)[:2]}/{_sha256(src)[2:4]}/{_sha256(src)}")

    info = api.get_paths_info(repo_id, ["weights.bin"])[0]
    assert info.lfs is not None
    assert info.lfs.sha256 == _sha256(src)
    assert info.xet_hash is not None
    assert len(info.xet_hash) == 64

    before = log.count("/reconstructions/")
    path = hf_hub_download(repo_id, "weights.bin", token=api.token)
    assert Path(path).read_bytes() == src.read_bytes()
    assert log.count("/reconstructions/") > before  # downloaded through Xet


def test_plain_http_gets_bytes_of_xet_files_with_ranges(api: HfApi, live_server: str, tmp_path: Path) -> None:
    import httpx

    repo_id = api.create_repo("xet-ranges").repo_id
    src = _random_file(tmp_path / "data.bin", 2 * MiB + 5, seed=3)
    api.upload_file(path_or_fileobj=str(src), path_in_repo="data.bin", repo_id=repo_id)
    data = src.read_bytes()
    url = f"{live_server}/{repo_id}/resolve/main/data.bin"
    headers = {"authorization": f"Bearer {api.token}"}
    head = httpx.head(url, headers=headers)
    assert head.headers["x-xet-hash"]
    assert 'rel="xet-auth"' in head.headers["link"]
    assert head.headers["x-linked-etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    whole = httpx.get(url, headers=headers)
    assert whole.content == data
    for start, end in [(0, 0), (65_000, 200_000), (len(data) - 10, len(data) - 1), (1_000_000, 1_500_000)]:
        part = httpx.get(url, headers=headers | {"range": f"bytes={start}-{end}"})
        assert part.status_code == 206
        assert part.content == data[start : end + 1]


def test_hf_file_system_range_reads_of_xet_file(api: HfApi, live_server: str, tmp_path: Path) -> None:
    repo_id = api.create_repo("xet-fs").repo_id
    src = _random_file(tmp_path / "big.bin", 1 * MiB + 333, seed=4)
    api.upload_file(path_or_fileobj=str(src), path_in_repo="big.bin", repo_id=repo_id)
    data = src.read_bytes()
    fs = HfFileSystem(endpoint=live_server, token=api.token)
    with fs.open(f"{repo_id}/big.bin", "rb", block_size=64 * 1024) as f:
        f.seek(500_000)
        assert f.read(1000) == data[500_000:501_000]
        f.seek(len(data) - 100)
        assert f.read() == data[-100:]


def test_upload_folder_and_snapshot_download(api: HfApi, log: RequestLog, tmp_path: Path) -> None:
    repo_id = api.create_repo("xet-folder").repo_id
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    files = {
        "a.bin": _random_file(folder / "a.bin", 600_000, seed=1),
        "sub/b.safetensors": _random_file(folder / "sub" / "b.safetensors", 900_000, seed=2),
    }
    (folder / "README.md").write_text("# hello\n")
    api.upload_folder(folder_path=str(folder), repo_id=repo_id)
    assert log.count("/shards", "POST") >= 1
    out = Path(snapshot_download(repo_id, token=api.token, cache_dir=str(tmp_path / "snap")))
    for name, path in files.items():
        assert (out / name).read_bytes() == path.read_bytes()
    assert (out / "README.md").read_text() == "# hello\n"


def test_second_upload_of_an_edited_file_sends_only_new_chunks(api: HfApi, log: RequestLog, tmp_path: Path) -> None:
    repo_id = api.create_repo("xet-dedup").repo_id
    data = bytearray(_random_file(tmp_path / "v1.bin", 8 * MiB, seed=9).read_bytes())
    api.upload_file(path_or_fileobj=bytes(data), path_in_repo="model.bin", repo_id=repo_id)
    data[4 * MiB : 4 * MiB + 1000] = os.urandom(1000)
    (tmp_path / "v2.bin").write_bytes(data)
    sizes_before = log.count("/v1/xorbs/", "POST") + log.count("/grants/", "PUT")
    api.upload_file(path_or_fileobj=str(tmp_path / "v2.bin"), path_in_repo="model.bin", repo_id=repo_id)
    assert log.count("/v1/xorbs/", "POST") + log.count("/grants/", "PUT") == sizes_before + 1  # one small xorb
    path = hf_hub_download(repo_id, "model.bin", token=api.token, cache_dir=str(tmp_path / "c"))
    assert Path(path).read_bytes() == bytes(data)


def test_git_clone_smudges_a_file_uploaded_through_xet(api: HfApi, live_server: str, tmp_path: Path, user) -> None:
    from tests.compat._gitclient import Credentials, make_git_client

    repo_id = api.create_repo("xet-git").repo_id
    src = _random_file(tmp_path / "w.bin", 1 * MiB + 99, seed=11)
    api.upload_file(path_or_fileobj=str(src), path_in_repo="w.bin", repo_id=repo_id)
    git = make_git_client(tmp_path)
    git.run("clone", f"{live_server}/{repo_id}", "clone", auth=Credentials(user.name, user.token))
    assert (tmp_path / "clone" / "w.bin").read_bytes() == src.read_bytes()

    # and git-lfs pushes a new version on top, which Xet clients then download
    changed = bytearray(src.read_bytes())
    changed[:10] = b"0123456789"
    (tmp_path / "clone" / "w.bin").write_bytes(changed)
    git.run("commit", "-qam", "edit", cwd=tmp_path / "clone")
    git.run("push", "-q", "origin", "main", cwd=tmp_path / "clone", auth=Credentials(user.name, user.token))
    path = hf_hub_download(repo_id, "w.bin", token=api.token, cache_dir=str(tmp_path / "c"))
    assert Path(path).read_bytes() == bytes(changed)


def test_file_uploaded_through_lfs_downloads_through_xet(
    live_server: str, user, hub, log: RequestLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    api = HfApi(endpoint=live_server, token=user.token)
    repo_id = api.create_repo("lfs-then-xet").repo_id
    src = _random_file(tmp_path / "m.bin", 2 * MiB + 1, seed=21)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    api.upload_file(path_or_fileobj=str(src), path_in_repo="m.bin", repo_id=repo_id)
    assert log.count("/info/lfs/objects/batch") == 1
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    hub.wait_for_jobs(60)
    info = api.get_paths_info(repo_id, ["m.bin"])[0]
    assert info.xet_hash is not None
    path = hf_hub_download(repo_id, "m.bin", token=api.token)
    assert Path(path).read_bytes() == src.read_bytes()
    assert log.count("/reconstructions/") >= 1
    # a Xet upload of the same bytes to another repo deduplicates against the converted chunks
    other = api.create_repo("xet-copy").repo_id
    xorbs_before = log.count("/v1/xorbs/", "POST") + log.count("/grants/", "PUT")
    api.upload_file(path_or_fileobj=str(src), path_in_repo="copy.bin", repo_id=other)
    assert log.count("/v1/xorbs/", "POST") + log.count("/grants/", "PUT") == xorbs_before


def test_datasets_and_transformers_push_and_load_through_xet(api: HfApi, log: RequestLog, tmp_path: Path) -> None:
    import datasets

    ds = datasets.Dataset.from_dict({"text": [f"row {i} " * 50 for i in range(2000)], "label": list(range(2000))})
    ds.push_to_hub("alice/xet-ds", token=api.token)
    loaded = datasets.load_dataset("alice/xet-ds", split="train", token=api.token, cache_dir=str(tmp_path / "d"))
    assert loaded["label"] == list(range(2000))
    files = api.list_repo_tree("alice/xet-ds", repo_type="dataset", recursive=True)
    parquet = [f for f in files if getattr(f, "path", "").endswith(".parquet")]
    assert parquet
    assert all(f.xet_hash for f in parquet)


def test_transformers_push_to_hub_and_from_pretrained_through_xet(
    api: HfApi, log: RequestLog, user, tmp_path: Path
) -> None:
    from tests.compat.test_transformers import SAMPLE, logits_of, make_model, make_tokenizer, torch, transformers

    tokenizer = make_tokenizer()
    model = make_model(len(tokenizer))
    model.push_to_hub("alice/xet-bert", token=user.token)
    tokenizer.push_to_hub("alice/xet-bert", token=user.token)
    assert log.count("/shards", "POST") >= 1
    weights = api.get_paths_info("alice/xet-bert", ["model.safetensors"])[0]
    assert weights.xet_hash is not None
    before = log.count("/reconstructions/")
    cache = tmp_path / "tf"
    loaded = transformers.AutoModelForSequenceClassification.from_pretrained("alice/xet-bert", cache_dir=cache)
    loaded_tokenizer = transformers.AutoTokenizer.from_pretrained("alice/xet-bert", cache_dir=cache)
    assert log.count("/reconstructions/") > before
    torch.testing.assert_close(logits_of(loaded.eval(), loaded_tokenizer, SAMPLE), logits_of(model, tokenizer, SAMPLE))
