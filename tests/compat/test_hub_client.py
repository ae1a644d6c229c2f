"""The newest huggingface_hub against a live Hubstead: every call the foundation promises."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
    HfApi,
    HfFileSystem,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

MiB = 1024 * 1024


@pytest.fixture
def api(live_server: str, user) -> HfApi:
    return HfApi(endpoint=live_server, token=user.token)


@pytest.fixture
def repo_id(api: HfApi) -> str:
    return api.create_repo("tiny-model").repo_id


def test_whoami_reports_user_and_orgs(api: HfApi, hub, user) -> None:
    from tests.conftest import make_org

    make_org(hub, "acme", {user.name: "write"})
    info = api.whoami()
    assert info["name"] == "alice"
    assert info["fullname"] == "Alice"
    assert info["type"] == "user"
    assert [o["name"] for o in info["orgs"]] == ["acme"]
    assert info["orgs"][0]["roleInOrg"] == "write"


@pytest.mark.parametrize("repo_type", ["model", "dataset", "space"])
def test_create_repo_of_each_type_starts_with_gitattributes(api: HfApi, repo_type: str) -> None:
    kwargs = {"space_sdk": "gradio"} if repo_type == "space" else {}
    url = api.create_repo("thing", repo_type=repo_type, **kwargs)
    assert url.repo_id == "alice/thing"
    assert url.repo_type == repo_type
    files = api.list_repo_files("alice/thing", repo_type=repo_type)
    assert files == [".gitattributes", "README.md"] if repo_type == "space" else [".gitattributes"]
    commits = api.list_repo_commits("alice/thing", repo_type=repo_type)
    assert [c.title for c in commits] == ["initial commit"]


def test_create_repo_exist_ok_returns_existing_and_conflict_otherwise(api: HfApi) -> None:
    first = api.create_repo("dup")
    again = api.create_repo("dup", exist_ok=True)
    assert again.repo_id == first.repo_id
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_repo("dup")
    assert excinfo.value.response.status_code == 409


def test_private_repo_is_invisible_to_others(api: HfApi, live_server: str, other_user) -> None:
    api.create_repo("secret", private=True)
    api.upload_file(path_or_fileobj=b"x", path_in_repo="a.txt", repo_id="alice/secret")
    assert api.model_info("alice/secret").private is True
    for token in (other_user.token, False):
        outsider = HfApi(endpoint=live_server, token=token)
        with pytest.raises(RepositoryNotFoundError):
            outsider.model_info("alice/secret")
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download("alice/secret", "a.txt", endpoint=live_server, token=token)
        assert outsider.repo_exists("alice/secret") is False


def test_upload_file_then_download_bytes_equal(api: HfApi, repo_id: str, live_server: str, user) -> None:
    data = b'{"hidden_size": 32}\n'
    info = api.upload_file(path_or_fileobj=data, path_in_repo="config.json", repo_id=repo_id)
    assert len(info.oid) == 40
    path = hf_hub_download(repo_id, "config.json", endpoint=live_server, token=user.token)
    assert Path(path).read_bytes() == data
    assert Path(path).parent.name == info.oid  # snapshot folder named by the commit


def _make_folder(root: Path) -> dict[str, bytes]:
    files = {
        "README.md": b"---\nlicense: mit\npipeline_tag: text-classification\ntags: [tiny]\n---\n# Tiny\n",
        "config.json": b'{"a": 1}',
        "weights/model.safetensors": os.urandom(21 * MiB),
        "weights/nested/deeper/notes.txt": b"deep",
        "tokenizer/vocab.txt": b"[PAD]\n[UNK]\nhello\n",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def test_upload_folder_with_large_lfs_file_and_nested_folders(
    api: HfApi, repo_id: str, tmp_path: Path, live_server: str, user
) -> None:
    files = _make_folder(tmp_path / "src")
    api.upload_folder(folder_path=tmp_path / "src", repo_id=repo_id)
    info = api.model_info(repo_id, files_metadata=True)
    siblings = {s.rfilename: s for s in info.siblings}
    assert set(siblings) == set(files) | {".gitattributes"}
    big = siblings["weights/model.safetensors"]
    assert big.size == 21 * MiB
    assert big.lfs is not None
    assert big.lfs.sha256 == hashlib.sha256(files["weights/model.safetensors"]).hexdigest()
    assert siblings["config.json"].lfs is None
    assert siblings["config.json"].size == len(files["config.json"])
    assert info.card_data["license"] == "mit"
    assert info.pipeline_tag == "text-classification"
    local = snapshot_download(repo_id, endpoint=live_server, token=user.token, cache_dir=tmp_path / "cache")
    for name, data in files.items():
        assert (Path(local) / name).read_bytes() == data


def test_dataset_info_with_files_metadata(api: HfApi) -> None:
    api.create_repo("rows", repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"a,b\n1,2\n", path_in_repo="data/train.csv", repo_id="alice/rows", repo_type="dataset"
    )
    api.upload_file(
        path_or_fileobj=os.urandom(2048), path_in_repo="data/blob.parquet", repo_id="alice/rows", repo_type="dataset"
    )
    info = api.dataset_info("alice/rows", files_metadata=True)
    siblings = {s.rfilename: s for s in info.siblings}
    assert siblings["data/train.csv"].size == 8
    assert siblings["data/blob.parquet"].lfs is not None
    assert siblings["data/blob.parquet"].lfs.size == 2048
    assert info.sha == api.list_repo_refs("alice/rows", repo_type="dataset").branches[0].target_commit


def test_download_by_tag_and_by_sha(api: HfApi, repo_id: str, live_server: str, user) -> None:
    first = api.upload_file(path_or_fileobj=b"v1", path_in_repo="f.txt", repo_id=repo_id).oid
    api.create_tag(repo_id, tag="v1.0", revision=first)
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="f.txt", repo_id=repo_id)
    kwargs = {"endpoint": live_server, "token": user.token}
    assert Path(hf_hub_download(repo_id, "f.txt", **kwargs)).read_bytes() == b"v2"
    assert Path(hf_hub_download(repo_id, "f.txt", revision="v1.0", **kwargs)).read_bytes() == b"v1"
    assert Path(hf_hub_download(repo_id, "f.txt", revision=first, **kwargs)).read_bytes() == b"v1"
    assert api.model_info(repo_id, revision="v1.0").sha == first
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo_id, "f.txt", revision="v9", **kwargs)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "missing.txt", **kwargs)


class DropFirstDownload:
    """Wraps the app under test: cuts the connection of the first full GET of ``path`` after ``limit`` bytes,
    as a flaky network would, and records the Range header of every GET of it."""

    def __init__(self, app, path: str, limit: int) -> None:
        self.app, self.path, self.limit = app, path, limit
        self.ranges: list[str | None] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].endswith(self.path):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        self.ranges.append(headers.get(b"range", b"").decode() or None)
        if len(self.ranges) > 1:
            return await self.app(scope, receive, send)
        sent = 0

        async def cutting_send(message):
            nonlocal sent
            await send(message)
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
                if sent >= self.limit:
                    raise ConnectionResetError("test: connection dropped mid-download")

        return await self.app(scope, receive, cutting_send)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_download_resumes_after_a_dropped_connection(
    api: HfApi, repo_id: str, live_server: str, user, server_switch
) -> None:
    # the client reads in 10 MiB chunks and can resume only from what it has written: cut after 12 MiB
    data = os.urandom(24 * MiB)
    api.upload_file(path_or_fileobj=data, path_in_repo="w.bin", repo_id=repo_id)
    flaky = DropFirstDownload(server_switch.app, "/resolve/main/w.bin", limit=12 * MiB)
    server_switch.app = flaky
    path = hf_hub_download(repo_id, "w.bin", endpoint=live_server, token=user.token)
    assert Path(path).read_bytes() == data
    assert len(flaky.ranges) == 2
    assert flaky.ranges[0] is None
    assert flaky.ranges[1] is not None
    assert flaky.ranges[1].startswith("bytes=")
    assert int(flaky.ranges[1].split("=")[1].split("-")[0]) >= 10 * MiB


def test_snapshot_download_with_allow_patterns(api: HfApi, repo_id: str, tmp_path: Path, live_server, user) -> None:
    api.upload_folder(folder_path=_small_tree(tmp_path / "src"), repo_id=repo_id)
    local = Path(
        snapshot_download(
            repo_id,
            allow_patterns=["*.json", "sub/c*"],
            endpoint=live_server,
            token=user.token,
            cache_dir=tmp_path / "c",
        )
    )
    got = sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    assert got == ["a.json", "sub/c.txt"]


def _small_tree(root: Path) -> Path:
    for name, data in {"a.json": b"{}", "b.txt": b"b", "sub/c.txt": b"c", "sub/deep/d.txt": b"d"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_list_repo_tree_and_paths_info(api: HfApi, repo_id: str, tmp_path: Path) -> None:
    api.upload_folder(folder_path=_small_tree(tmp_path / "src"), repo_id=repo_id)
    api.upload_file(path_or_fileobj=os.urandom(100), path_in_repo="sub/w.bin", repo_id=repo_id)
    top = {e.path: type(e).__name__ for e in api.list_repo_tree(repo_id)}
    assert top == {".gitattributes": "RepoFile", "a.json": "RepoFile", "b.txt": "RepoFile", "sub": "RepoFolder"}
    deep = {e.path for e in api.list_repo_tree(repo_id, recursive=True)}
    assert deep == {".gitattributes", "a.json", "b.txt", "sub", "sub/c.txt", "sub/deep", "sub/deep/d.txt", "sub/w.bin"}
    sub = {e.path for e in api.list_repo_tree(repo_id, path_in_repo="sub")}
    assert sub == {"sub/c.txt", "sub/deep", "sub/w.bin"}
    expanded = {e.path: e for e in api.list_repo_tree(repo_id, path_in_repo="sub", expand=True)}
    assert expanded["sub/w.bin"].last_commit.title == "Upload sub/w.bin with huggingface_hub"
    assert expanded["sub/w.bin"].lfs.size == 100
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(repo_id, path_in_repo="nope"))
    infos = {i.path: i for i in api.get_paths_info(repo_id, ["a.json", "sub", "missing.txt", "sub/w.bin"])}
    assert set(infos) == {"a.json", "sub", "sub/w.bin"}
    assert infos["a.json"].size == 2
    assert infos["sub/w.bin"].lfs.size == 100
    # folders before files at every level, as huggingface.co lists a tree
    assert api.list_repo_files(repo_id) == [
        "sub/deep/d.txt",
        "sub/c.txt",
        "sub/w.bin",
        ".gitattributes",
        "a.json",
        "b.txt",
    ]


def test_branches_tags_refs_and_commits(api: HfApi, repo_id: str) -> None:
    api.create_branch(repo_id, branch="dev")
    api.create_branch(repo_id, branch="dev", exist_ok=True)
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_branch(repo_id, branch="dev")
    assert excinfo.value.response.status_code == 409
    on_dev = api.upload_file(path_or_fileobj=b"dev", path_in_repo="d.txt", repo_id=repo_id, revision="dev").oid
    assert api.file_exists(repo_id, "d.txt", revision="dev")
    assert not api.file_exists(repo_id, "d.txt")
    api.create_tag(repo_id, tag="v1", revision="dev", tag_message="first release")
    api.create_tag(repo_id, tag="light", revision="main")
    refs = api.list_repo_refs(repo_id)
    assert {b.name: b.target_commit for b in refs.branches}["dev"] == on_dev
    assert {t.name: t.target_commit for t in refs.tags}["v1"] == on_dev
    assert {t.name for t in refs.tags} == {"v1", "light"}
    assert api.revision_exists(repo_id, "v1")
    commits = api.list_repo_commits(repo_id, revision="dev")
    assert [c.title for c in commits] == ["Upload d.txt with huggingface_hub", "initial commit"]
    assert commits[0].commit_id == on_dev
    api.delete_tag(repo_id, tag="v1")
    api.delete_branch(repo_id, branch="dev")
    assert not api.revision_exists(repo_id, "dev")
    assert not api.revision_exists(repo_id, "v1")
    with pytest.raises(RevisionNotFoundError):
        api.delete_branch(repo_id, branch="dev")
    with pytest.raises(HfHubHTTPError):
        api.delete_branch(repo_id, branch="main")


def test_list_repo_commits_paginates(api: HfApi, repo_id: str) -> None:
    for i in range(60):  # more than one page of 50
        api.upload_file(
            path_or_fileobj=f"{i}".encode(), path_in_repo="n.txt", repo_id=repo_id, commit_message=f"commit {i}"
        )
    titles = [c.title for c in api.list_repo_commits(repo_id)]
    assert len(titles) == 61
    assert titles[0] == "commit 59"
    assert titles[-1] == "initial commit"


def test_delete_file_and_folder(api: HfApi, repo_id: str, tmp_path: Path) -> None:
    api.upload_folder(folder_path=_small_tree(tmp_path / "src"), repo_id=repo_id)
    api.delete_file("b.txt", repo_id)
    api.delete_folder("sub", repo_id)
    assert api.list_repo_files(repo_id) == [".gitattributes", "a.json"]
    with pytest.raises(EntryNotFoundError):
        api.delete_file("b.txt", repo_id)


def test_create_commit_with_copy_and_stale_parent(api: HfApi, repo_id: str) -> None:
    base = api.upload_file(path_or_fileobj=os.urandom(64), path_in_repo="w.bin", repo_id=repo_id).oid
    info = api.create_commit(
        repo_id,
        operations=[
            CommitOperationCopy(src_path_in_repo="w.bin", path_in_repo="copy/w.bin"),
            CommitOperationAdd(path_in_repo="x.txt", path_or_fileobj=b"x"),
        ],
        commit_message="copy",
        parent_commit=base,
    )
    files = {i.path: i for i in api.get_paths_info(repo_id, ["w.bin", "copy/w.bin"])}
    assert files["w.bin"].lfs.sha256 == files["copy/w.bin"].lfs.sha256
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_commit(
            repo_id,
            operations=[CommitOperationDelete(path_in_repo="x.txt")],
            commit_message="stale",
            parent_commit=base,
        )
    assert excinfo.value.response.status_code == 412
    assert api.model_info(repo_id).sha == info.oid
    assert api.file_exists(repo_id, "x.txt")


def test_move_repo_and_settings_and_delete(api: HfApi, repo_id: str, live_server: str) -> None:
    api.upload_file(path_or_fileobj=b"keep", path_in_repo="k.txt", repo_id=repo_id)
    api.move_repo(repo_id, "alice/renamed")
    assert not api.repo_exists(repo_id)
    assert api.list_repo_files("alice/renamed") == [".gitattributes", "k.txt"]
    api.create_repo("other")
    with pytest.raises(HfHubHTTPError, match="already exists"):
        api.move_repo("alice/other", "alice/renamed")
    api.update_repo_settings("alice/renamed", private=True)
    assert api.model_info("alice/renamed").private is True
    assert HfApi(endpoint=live_server, token=False).repo_exists("alice/renamed") is False
    api.update_repo_settings("alice/renamed", private=False)
    assert HfApi(endpoint=live_server, token=False).repo_exists("alice/renamed") is True
    api.delete_repo("alice/renamed")
    assert not api.repo_exists("alice/renamed")
    with pytest.raises(RepositoryNotFoundError):
        api.delete_repo("alice/renamed")
    api.delete_repo("alice/renamed", missing_ok=True)


def test_exists_helpers(api: HfApi, repo_id: str) -> None:
    api.upload_file(path_or_fileobj=b"x", path_in_repo="dir/x.txt", repo_id=repo_id)
    assert api.repo_exists(repo_id)
    assert not api.repo_exists("alice/nope")
    assert api.file_exists(repo_id, "dir/x.txt")
    assert not api.file_exists(repo_id, "dir/y.txt")
    assert api.revision_exists(repo_id, "main")
    assert not api.revision_exists(repo_id, "nope")


def test_missing_things_raise_the_clients_own_errors(api: HfApi, repo_id: str) -> None:
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("alice/does-not-exist")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo_id, revision="no-such-branch")
    with pytest.raises(EntryNotFoundError):
        api.hf_hub_download(repo_id, "nothing-here.txt")


def test_write_without_access_is_refused_and_changes_nothing(
    api: HfApi, repo_id: str, live_server, other_user, user
) -> None:
    before = api.model_info(repo_id).sha
    for token in (other_user.token, user.read_token):
        outsider = HfApi(endpoint=live_server, token=token)
        with pytest.raises(HfHubHTTPError) as excinfo:
            outsider.upload_file(path_or_fileobj=b"evil", path_in_repo="evil.txt", repo_id=repo_id)
        assert excinfo.value.response.status_code == 403
        with pytest.raises(HfHubHTTPError) as excinfo:
            outsider.delete_repo(repo_id)
        assert excinfo.value.response.status_code == 403
    assert api.model_info(repo_id).sha == before
    assert api.list_repo_files(repo_id) == [".gitattributes"]


def test_hf_file_system_ls_glob_open(api: HfApi, repo_id: str, tmp_path: Path, live_server: str, user) -> None:
    api.upload_folder(folder_path=_small_tree(tmp_path / "src"), repo_id=repo_id)
    payload = bytes(range(256)) * 4096
    api.upload_file(path_or_fileobj=payload, path_in_repo="sub/data.bin", repo_id=repo_id)
    fs = HfFileSystem(endpoint=live_server, token=user.token)
    names = {e["name"] for e in fs.ls(repo_id, detail=True)}
    assert names == {f"{repo_id}/{n}" for n in (".gitattributes", "a.json", "b.txt", "sub")}
    assert sorted(fs.glob(f"{repo_id}/**/*.txt")) == [
        f"{repo_id}/{n}" for n in ("b.txt", "sub/c.txt", "sub/deep/d.txt")
    ]
    with fs.open(f"{repo_id}/sub/data.bin", "rb") as f:
        f.seek(1000)
        assert f.read(10) == payload[1000:1010]
        f.seek(-5, 2)
        assert f.read() == payload[-5:]
    assert fs.cat(f"{repo_id}/sub/c.txt") == b"c"
    assert fs.info(f"{repo_id}/sub/data.bin")["size"] == len(payload)


def test_readme_metadata_is_validated_and_indexed(api: HfApi, repo_id: str) -> None:
    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md"):
        api.upload_file(path_or_fileobj=b"---\nmodel-index: foo\n---\n", path_in_repo="README.md", repo_id=repo_id)
    assert not api.file_exists(repo_id, "README.md")
    with pytest.warns(UserWarning, match="Warnings while validating metadata"):
        api.upload_file(path_or_fileobj=b"# no metadata\n", path_in_repo="README.md", repo_id=repo_id)
    card = b"---\nlanguage: [en, fr]\nlicense: other\nlicense_name: acme\ntags: [a, b]\n---\n# Card\n"
    api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=repo_id)
    info = api.model_info(repo_id)
    assert info.card_data["language"] == ["en", "fr"]
    assert info.card_data["license_name"] == "acme"
    api.delete_file("README.md", repo_id)
    assert not api.model_info(repo_id).card_data


def test_space_info_reports_sdk(api: HfApi) -> None:
    api.create_repo("demo", repo_type="space", space_sdk="streamlit")
    info = api.space_info("alice/demo")
    assert info.sdk == "streamlit"
    assert info.id == "alice/demo"
    assert [s.rfilename for s in info.siblings] == [".gitattributes", "README.md"]
