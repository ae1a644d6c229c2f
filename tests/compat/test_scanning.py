"""File scanning end to end, with the official client as the peer: pickles and safetensors files uploaded with
``huggingface_hub`` (and by ``git push``), scanned in the background, reported as huggingface.co reports them
(``securityRepoStatus``, ``securityFileStatus``, ``/scan``), and, when the hub says so, their downloads refused
on every path that serves bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError
from sqlalchemy import func, select

from hubstead.app import create_app
from hubstead.gitstore import Change
from hubstead.hub import Hub
from hubstead.jobs.models import Job, JobState
from hubstead.repos.files import FileService
from hubstead.repos.models import Repo, RepoType
from hubstead.repos.services import RepoService
from hubstead.scanning.models import ContentKind, ScanRequest, ScanResult
from hubstead.scanning.services import ScanService
from hubstead.scanning.tasks import scan_revision
from tests.compat._gitclient import Credentials, make_git_client
from tests.conftest import User, make_user
from tests.scanning_files import (
    clean_pickle,
    clean_torch,
    evil_pickle,
    evil_torch,
    lying_safetensors,
    safetensors_bytes,
)

OS_SYSTEM = {"module": "posix", "name": "system", "safety": "dangerous"}
FILES = {
    "evil.pkl": evil_pickle(),
    "pytorch_model.bin": evil_torch(),
    "clean/pytorch_model.bin": clean_torch(),
    "classifier.joblib": clean_pickle(),
    "model.safetensors": safetensors_bytes(),
    "broken.safetensors": lying_safetensors(),
    "evil.dat": evil_pickle(protocol=0),  # ASCII: a regular git file, not an LFS one
    "README.md": b"# a model\n",
}
EXPECTED = {
    "evil.pkl": "unsafe",
    "pytorch_model.bin": "unsafe",
    "clean/pytorch_model.bin": "safe",
    "classifier.joblib": "safe",
    "model.safetensors": "safe",
    "broken.safetensors": "unsafe",
    "evil.dat": "unsafe",
}


@pytest.fixture
def api(live_server: str, user: User) -> HfApi:
    return HfApi(endpoint=live_server, token=user.token)


def upload(api: HfApi, repo_id: str, files: dict[str, bytes] = FILES, **kwargs: Any) -> str:
    api.create_repo(repo_id, exist_ok=True, **kwargs)
    operations = [CommitOperationAdd(path, data) for path, data in files.items()]
    return api.create_commit(repo_id, operations, commit_message="upload").oid


def scanned(hub: Hub) -> None:
    hub.wait_for_jobs(300)


def result_count(hub: Hub) -> int:
    with hub.sessions() as session:
        return session.scalar(select(func.count()).select_from(ScanResult)) or 0


def test_scans_flag_malicious_pickles_and_pass_clean_ones(api: HfApi, hub: Hub, live_server: str) -> None:
    sha = upload(api, "alice/zoo")
    scanned(hub)

    info = api.model_info("alice/zoo", securityStatus=True)
    assert info.security_repo_status == {
        "scansDone": True,
        "filesWithIssues": [
            {"path": path, "level": level} for path, level in sorted(EXPECTED.items()) if level != "safe"
        ],
    }
    assert api.model_info("alice/zoo", revision=sha, securityStatus=True).security_repo_status["scansDone"]
    scan = httpx.get(f"{live_server}/api/models/alice/zoo/scan")
    assert scan.status_code == 200
    assert scan.json() == info.security_repo_status

    tree = {f.path: f for f in api.list_repo_tree("alice/zoo", recursive=True, expand=True) if hasattr(f, "size")}
    for path, level in EXPECTED.items():
        security = tree[path].security
        assert security is not None, path
        assert security["status"] == level, (path, security)
        assert security["safe"] is (level == "safe")
    assert tree["README.md"].security is None  # no scanner reads Markdown
    evil = tree["pytorch_model.bin"].security["pickle_import_scan"]
    assert evil["status"] == "unsafe"
    assert OS_SYSTEM in evil["pickleImports"]
    assert evil["version"]
    clean = tree["clean/pytorch_model.bin"].security["pickle_import_scan"]
    assert {i["safety"] for i in clean["pickleImports"]} == {"innocuous"}
    assert tree["pytorch_model.bin"].security["av_scan"]["status"] == "unscanned"

    paths = api.get_paths_info("alice/zoo", ["broken.safetensors", "evil.dat"], expand=True)
    by_path = {p.path: p.security for p in paths}
    assert by_path["broken.safetensors"]["status"] == "unsafe"
    raw = httpx.post(
        f"{live_server}/api/models/alice/zoo/paths-info/main", data={"paths": "broken.safetensors", "expand": "true"}
    ).json()[0]["securityFileStatus"]  # Hubstead's own scanner: a key huggingface_hub does not keep
    assert "Invalid safetensors header" in raw["safetensorsScan"]["message"]
    assert raw["pickleImportScan"]["status"] == "unscanned"
    assert by_path["evil.dat"]["pickle_import_scan"]["pickleImports"] == [OS_SYSTEM]
    # without expand, nothing is said (as huggingface.co: the status comes with expand only)
    assert all(f.security is None for f in api.list_repo_tree("alice/zoo", recursive=True) if hasattr(f, "size"))


def test_a_clean_repo_reports_no_issue(api: HfApi, hub: Hub) -> None:
    upload(api, "alice/clean", {"pytorch_model.bin": clean_torch(), "model.safetensors": safetensors_bytes()})
    scanned(hub)
    status = api.model_info("alice/clean", securityStatus=True).security_repo_status
    assert status == {"scansDone": True, "filesWithIssues": []}


def test_datasets_and_spaces_are_scanned_too(live_server: str, user: User, hub: Hub) -> None:
    api = HfApi(endpoint=live_server, token=user.token)
    for repo_type in ("dataset", "space"):
        api.create_repo(f"alice/{repo_type}", repo_type=repo_type, space_sdk="gradio" if repo_type == "space" else None)
        api.upload_file(path_or_fileobj=evil_pickle(), path_in_repo="x.pkl", repo_id=f"alice/{repo_type}",
                        repo_type=repo_type)  # fmt: skip
    scanned(hub)
    for repo_type in ("dataset", "space"):
        scan = httpx.get(f"{live_server}/api/{repo_type}s/alice/{repo_type}/scan").json()
        assert scan == {"scansDone": True, "filesWithIssues": [{"path": "x.pkl", "level": "unsafe"}]}
        info = httpx.get(f"{live_server}/api/{repo_type}s/alice/{repo_type}", params={"securityStatus": "true"})
        assert info.json()["securityRepoStatus"] == scan


def test_downloads_of_unsafe_files_are_blocked_only_when_the_hub_says_so(
    api: HfApi, hub: Hub, live_server: str, user: User, tmp_path: Path
) -> None:
    upload(api, "alice/zoo")
    scanned(hub)
    hub.wait_for_jobs(120)
    evil_oid = hashlib.sha256(FILES["pytorch_model.bin"]).hexdigest()

    # blocking off (the default): everything downloads
    assert (
        Path(hf_hub_download("alice/zoo", "pytorch_model.bin", token=user.token)).read_bytes()
        == FILES["pytorch_model.bin"]
    )
    assert httpx.get(f"{live_server}/alice/zoo/raw/main/evil.dat").status_code == 200

    hub.settings.scanning.block_unsafe_downloads = True
    auth = {"authorization": f"Bearer {user.token}"}
    for path in ("pytorch_model.bin", "evil.pkl", "evil.dat", "broken.safetensors"):
        response = httpx.get(f"{live_server}/alice/zoo/resolve/main/{path}", headers=auth)
        assert response.status_code == 403, path
        assert response.headers["x-error-code"] == "UnsafeFile"
        assert "found unsafe" in response.headers["x-error-message"]
        # a HEAD serves no bytes: it answers, and the client gets the refusal's message from its GET
        assert httpx.head(f"{live_server}/alice/zoo/resolve/main/{path}", headers=auth).status_code == 200
    with pytest.raises(HfHubHTTPError, match=r"posix\.system"):
        hf_hub_download("alice/zoo", "evil.pkl", token=user.token, cache_dir=tmp_path / "fresh")
    for path in ("clean/pytorch_model.bin", "model.safetensors", "classifier.joblib", "README.md"):
        assert Path(hf_hub_download("alice/zoo", path, token=user.token)).read_bytes() == FILES[path]

    # git-lfs: the batch answer refuses the object, and a link signed before the verdict stops working
    batch = {"operation": "download", "transfers": ["basic"], "objects": [{"oid": evil_oid, "size": 1}]}
    answer = httpx.post(f"{live_server}/alice/zoo.git/info/lfs/objects/batch", json=batch).json()
    assert answer["objects"][0]["error"]["code"] == 403
    hub.settings.scanning.block_unsafe_downloads = False
    link = httpx.post(f"{live_server}/alice/zoo.git/info/lfs/objects/batch", json=batch).json()
    href = link["objects"][0]["actions"]["download"]["href"]
    assert httpx.get(href).status_code == 200
    hub.settings.scanning.block_unsafe_downloads = True
    assert httpx.get(href).status_code == 403

    # Xet: the reconstruction of the converted object is refused too
    token = httpx.get(f"{live_server}/api/models/alice/zoo/xet-read-token/main").json()["accessToken"]
    xet_hash = next(
        f.xet_hash for f in api.list_repo_tree("alice/zoo", recursive=True) if f.path == "pytorch_model.bin"
    )
    assert xet_hash
    cas = {"authorization": f"Bearer {token}"}
    refused = httpx.get(f"{live_server}/api/hubstead/xet/v1/reconstructions/{xet_hash}", headers=cas)
    assert refused.status_code == 403
    # the raw page serves a regular file's bytes: refused; an LFS file's raw page is its pointer: served
    assert httpx.get(f"{live_server}/alice/zoo/raw/main/evil.dat").status_code == 403
    assert httpx.get(f"{live_server}/alice/zoo/raw/main/evil.pkl").status_code == 200

    hub.settings.scanning.block_unsafe_downloads = False
    assert httpx.get(f"{live_server}/api/hubstead/xet/v1/reconstructions/{xet_hash}", headers=cas).status_code == 200


def test_pushed_files_are_scanned(api: HfApi, hub: Hub, live_server: str, user: User, tmp_path: Path) -> None:
    api.create_repo("alice/pushed")
    git = make_git_client(tmp_path)
    git.run("clone", f"{live_server}/alice/pushed", "work", auth=Credentials(user.name, user.token))
    work = git.cwd / "work"
    (work / "model.pt").write_bytes(evil_torch())
    (work / "ok.safetensors").write_bytes(safetensors_bytes())
    git.run("add", ".", cwd=work)
    git.run("commit", "-q", "-m", "weights by git", cwd=work)
    git.run("push", "origin", "main", cwd=work, auth=Credentials(user.name, user.token))
    (work / "side.pkl").write_bytes(evil_pickle())
    git.run("checkout", "-q", "-b", "side", cwd=work)
    git.run("add", ".", cwd=work)
    git.run("commit", "-q", "-m", "on a branch", cwd=work)
    git.run("push", "origin", "side", cwd=work, auth=Credentials(user.name, user.token))
    scanned(hub)

    status = api.model_info("alice/pushed", securityStatus=True).security_repo_status
    assert status == {"scansDone": True, "filesWithIssues": [{"path": "model.pt", "level": "unsafe"}]}
    side = api.model_info("alice/pushed", revision="side", securityStatus=True).security_repo_status
    assert side["filesWithIssues"] == [
        {"path": "model.pt", "level": "unsafe"},
        {"path": "side.pkl", "level": "unsafe"},
    ]


def test_the_same_content_in_another_repo_is_not_scanned_again(api: HfApi, hub: Hub) -> None:
    upload(api, "alice/first")
    scanned(hub)
    results = result_count(hub)
    with hub.sessions() as session:
        scanned_at = dict(session.execute(select(ScanResult.digest, ScanResult.scanned_at)).all())

    sha = upload(api, "alice/second", {f"copy/{path}": data for path, data in FILES.items()})
    scanned(hub)

    assert result_count(hub) == results
    with hub.sessions() as session:
        assert dict(session.execute(select(ScanResult.digest, ScanResult.scanned_at)).all()) == scanned_at
        repo = session.scalar(select(Repo).where(Repo.id_key == "alice/second"))
        assert repo is not None
        assert session.get(ScanRequest, (repo.id, sha)).finished_at is not None
    levels = {f["path"]: f["level"] for f in api.model_info("alice/second", securityStatus=True).security_repo_status[
        "filesWithIssues"]}  # fmt: skip
    assert levels == {f"copy/{p}": level for p, level in EXPECTED.items() if level != "safe"}
    assert scan_revision(hub, repo.id, sha) == 0  # running it again does nothing


def test_a_scan_interrupted_by_a_restart_runs_again(settings: Any, hub: Hub, api: HfApi, user: User) -> None:
    """The request is a job queued with the commit; a hub that stops before any worker ran it leaves it queued,
    and the next start of the hub runs it."""
    api.create_repo("alice/later")
    with hub.sessions.begin() as session:
        repos = RepoService(session, hub.git, hub.blobs)
        repo = repos.find_repo(RepoType.MODEL, "alice/later")
        assert repo is not None
        git = repos.open_git(repo)
        tree = git.build_tree(repo.head_sha, [Change("evil.pkl", git.write_blob(evil_pickle()))])
        sha = git.write_commit(tree, [repo.head_sha or ""], "add a pickle", "alice", "alice@example.org")
        git.update_ref("refs/heads/main", sha, repo.head_sha)
        repos.record_commit(repo, sha)
        ScanService(FileService(repos, hub.blobs), settings.scanning, hub.jobs).request_scan(repo.id, sha)
    with hub.sessions() as session:  # queued with the commit; no worker ran it before the hub went away
        queued = session.scalars(select(Job).where(Job.kind == "scan.revision", Job.repo_id == repo.id)).all()
    assert [job.state for job in queued] == [JobState.QUEUED]
    pending = api.model_info("alice/later", securityStatus=True).security_repo_status
    assert pending == {"scansDone": False, "filesWithIssues": []}
    hub.close()

    restarted = Hub.from_settings(settings)
    with TestClient(create_app(settings, restarted)) as client:  # its worker runs what is queued
        restarted.wait_for_jobs(120)
        status = client.get("/api/models/alice/later", params={"securityStatus": "true"}).json()
    assert status["securityRepoStatus"] == {
        "scansDone": True,
        "filesWithIssues": [{"path": "evil.pkl", "level": "unsafe"}],
    }


def test_imports_are_shown_only_to_those_who_may_download_a_gated_repos_files(
    api: HfApi, hub: Hub, live_server: str, other_user: User
) -> None:
    upload(api, "alice/gated", {"evil.pkl": evil_pickle()})
    api.update_repo_settings("alice/gated", gated="manual")
    scanned(hub)
    outsider = HfApi(endpoint=live_server, token=other_user.token)

    (seen,) = outsider.get_paths_info("alice/gated", ["evil.pkl"], expand=True)
    assert seen.security["status"] == "unsafe"  # the verdict is metadata, as the file's size is
    assert "pickleImports" not in seen.security["pickle_import_scan"]
    assert "download" in seen.security["pickle_import_scan"]["message"]
    (owner,) = api.get_paths_info("alice/gated", ["evil.pkl"], expand=True)
    assert owner.security["pickle_import_scan"]["pickleImports"] == [OS_SYSTEM]


def test_private_repos_scan_status_looks_missing(api: HfApi, hub: Hub, live_server: str, other_user: User) -> None:
    upload(api, "alice/hidden", {"evil.pkl": evil_pickle()}, private=True)
    scanned(hub)
    for token in (None, other_user.token):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = httpx.get(f"{live_server}/api/models/alice/hidden/scan", headers=headers)
        assert response.status_code == 404
        assert response.headers["x-error-code"] == "RepoNotFound"


def test_pickles_over_the_size_limit_are_reported_unscanned(api: HfApi, hub: Hub) -> None:
    hub.settings.scanning.max_file_size = 100
    upload(api, "alice/big", {"big.pkl": evil_pickle(), "small.pkl": b"\x80\x04N."})
    scanned(hub)
    issues = api.model_info("alice/big", securityStatus=True).security_repo_status["filesWithIssues"]
    assert issues == [{"path": "big.pkl", "level": "unscanned"}]
    (big,) = api.get_paths_info("alice/big", ["big.pkl"], expand=True)
    assert "larger than" in big.security["pickle_import_scan"]["message"]

    hub.settings.scanning.max_file_size = 10_000_000  # raised: the next look asks for the scan it now allows
    assert not api.model_info("alice/big", securityStatus=True).security_repo_status["scansDone"]
    scanned(hub)
    issues = api.model_info("alice/big", securityStatus=True).security_repo_status["filesWithIssues"]
    assert issues == [{"path": "big.pkl", "level": "unsafe"}]


def test_with_scanning_off_files_are_reported_unscanned(api: HfApi, hub: Hub) -> None:
    hub.settings.scanning.enabled = False
    upload(api, "alice/off", {"evil.pkl": evil_pickle()})
    scanned(hub)
    status = api.model_info("alice/off", securityStatus=True).security_repo_status
    assert status == {"scansDone": True, "filesWithIssues": [{"path": "evil.pkl", "level": "unscanned"}]}
    assert result_count(hub) == 0


def test_a_second_user_sees_the_same_verdicts(api: HfApi, hub: Hub, live_server: str) -> None:
    upload(api, "alice/shared", {"evil.pkl": evil_pickle()})
    scanned(hub)
    carol = make_user(hub, "carol")
    seen = HfApi(endpoint=live_server, token=carol.token).model_info("alice/shared", securityStatus=True)
    assert seen.security_repo_status["filesWithIssues"] == [{"path": "evil.pkl", "level": "unsafe"}]


@pytest.fixture
def xet_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """hf_xet on (the test process turns it off), with a cache of its own (the server is new for every test)."""
    from huggingface_hub import constants
    from huggingface_hub.utils import _xet

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    monkeypatch.setenv("HF_XET_CACHE", str(tmp_path / "xet-cache"))
    monkeypatch.setenv("HF_XET_LOG_DEST", str(tmp_path / "xet-logs"))
    _xet._GLOBAL_XET_HOLDER._session = None
    yield
    _xet._GLOBAL_XET_HOLDER._session = None


def test_files_uploaded_through_xet_are_scanned_by_their_xet_hash(
    api: HfApi, hub: Hub, live_server: str, xet_client: None
) -> None:
    ok = clean_torch()
    upload(api, "alice/xet", {"evil.pkl": evil_pickle(), "ok.bin": ok})
    scanned(hub)

    status = api.model_info("alice/xet", securityStatus=True).security_repo_status
    assert status == {"scansDone": True, "filesWithIssues": [{"path": "evil.pkl", "level": "unsafe"}]}
    with hub.sessions() as session:
        kinds = set(session.scalars(select(ScanResult.kind)))
    assert kinds == {ContentKind.XET}  # the uploader's sha256 names nothing the hub checked

    hub.settings.scanning.block_unsafe_downloads = True
    evil = next(f for f in api.list_repo_tree("alice/xet") if f.path == "evil.pkl")
    token = httpx.get(f"{live_server}/api/models/alice/xet/xet-read-token/main").json()["accessToken"]
    cas = {"authorization": f"Bearer {token}"}
    url = f"{live_server}/api/hubstead/xet/v2/reconstructions/{evil.xet_hash}"
    assert httpx.get(url, headers=cas).status_code == 403
    assert httpx.get(f"{live_server}/alice/xet/resolve/main/evil.pkl").status_code == 403
    assert Path(hf_hub_download("alice/xet", "ok.bin")).read_bytes() == ok
