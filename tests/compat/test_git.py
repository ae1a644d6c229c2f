"""git and git-lfs against a live Hubstead: clone, fetch, pull and push over smart HTTP, with the hub's
authentication, LFS checks, branch protection, and API commits interleaving with pushes on one branch."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from sqlalchemy import select

from hubstead.repos.lfs_pointer import LfsPointer
from hubstead.repos.models import Repo
from tests.compat._gitclient import Credentials, GitClient, make_git_client
from tests.conftest import User

SMALL = b"hello from the API\n"
PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
CHALLENGE = 'Basic realm="Hubstead"'


@pytest.fixture
def git(tmp_path: Path) -> GitClient:
    return make_git_client(tmp_path)


@pytest.fixture
def api(live_server: str, user: User) -> HfApi:
    return HfApi(endpoint=live_server, token=user.token)


def creds(user: User, *, read_only: bool = False) -> Credentials:
    return Credentials(user.name, user.read_token if read_only else user.token)


def seed(api: HfApi, repo_id: str, *, repo_type: str = "model", private: bool = False) -> bytes:
    """A repo made through the API with a small file and an LFS file; returns the LFS file's bytes."""
    weights = os.urandom(256 * 1024)
    api.create_repo(repo_id, repo_type=repo_type, private=private, space_sdk="gradio" if repo_type == "space" else None)
    operations = [CommitOperationAdd("hello.txt", SMALL), CommitOperationAdd("weights.bin", weights)]
    api.create_commit(repo_id, operations, commit_message="seed", repo_type=repo_type)
    return weights


def remote(live_server: str, repo_id: str, repo_type: str = "model", suffix: str = "") -> str:
    return f"{live_server}/{PREFIX[repo_type]}{repo_id}{suffix}"


def commit_file(git: GitClient, work: Path, path: str, data: bytes, message: str) -> str:
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_bytes(data)
    git.run("add", path, cwd=work)
    git.run("commit", "-q", "-m", message, cwd=work)
    return git.head(work)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def db_head(hub: Any, repo_id: str) -> str | None:
    with hub.sessions() as session:
        return session.scalar(select(Repo.head_sha).where(Repo.id_key == repo_id.lower()))


# --- clone and fetch ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repo_type", "suffix"), [("model", ""), ("model", ".git"), ("dataset", ""), ("space", ".git")]
)
def test_anonymous_clone_of_a_public_api_repo_smudges_lfs_files(
    git: GitClient, api: HfApi, live_server: str, repo_type: str, suffix: str
) -> None:
    weights = seed(api, "alice/public", repo_type=repo_type)

    git.run("clone", remote(live_server, "alice/public", repo_type, suffix), "clone")

    clone = git.cwd / "clone"
    assert (clone / "hello.txt").read_bytes() == SMALL
    assert (clone / "weights.bin").read_bytes() == weights
    assert git.run("lfs", "ls-files", "--name-only", cwd=clone).stdout.split() == ["weights.bin"]
    assert git.head(clone) == api.repo_info("alice/public", repo_type=repo_type).sha


@pytest.mark.parametrize("version", ["0", "1", "2"])
def test_clone_and_pull_with_each_protocol_version(git: GitClient, api: HfApi, live_server: str, version: str) -> None:
    seed(api, "alice/proto")
    git.run("-c", f"protocol.version={version}", "clone", remote(live_server, "alice/proto"), "clone")
    api.upload_file(path_or_fileobj=b"later\n", path_in_repo="later.txt", repo_id="alice/proto")

    git.run("-c", f"protocol.version={version}", "pull", "--ff-only", cwd=git.cwd / "clone")

    assert (git.cwd / "clone" / "later.txt").read_bytes() == b"later\n"
    assert git.head(git.cwd / "clone") == api.repo_info("alice/proto").sha


def pkt(payload: bytes) -> bytes:
    return f"{len(payload) + 4:04x}".encode() + payload


LS_REFS = pkt(b"command=ls-refs\n") + b"0001" + pkt(b"ref-prefix refs/heads/\n") + b"0000"
UPLOAD_PACK_REQUEST = {"content-type": "application/x-git-upload-pack-request", "git-protocol": "version=2"}


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_upload_pack_reads_plain_and_gzipped_requests(api: HfApi, live_server: str, encoding: str) -> None:
    api.create_repo("enc")
    body = gzip.compress(LS_REFS) if encoding == "gzip" else LS_REFS

    response = httpx.post(
        f"{live_server}/alice/enc/git-upload-pack",
        content=body,
        headers=UPLOAD_PACK_REQUEST | {"content-encoding": encoding},
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-git-upload-pack-result"
    assert response.content == pkt(f"{api.repo_info('alice/enc').sha} refs/heads/main\n".encode()) + b"0000"


def test_a_broken_gzip_body_is_a_bad_request(api: HfApi, live_server: str) -> None:
    api.create_repo("enc")

    response = httpx.post(
        f"{live_server}/alice/enc/git-upload-pack",
        content=b"this is not gzip",
        headers=UPLOAD_PACK_REQUEST | {"content-encoding": "gzip"},
    )

    assert response.status_code == 400
    assert "gzip" in response.json()["error"]


@pytest.mark.parametrize("service", ["upload-pack", "receive-pack"])
@pytest.mark.parametrize("body", [b"\0" * 64, b"garbage", pkt(b"want nothing\n")], ids=["nul", "text", "bad-want"])
def test_a_body_that_is_not_git_protocol_is_a_bad_request(
    api: HfApi, live_server: str, user: User, service: str, body: bytes
) -> None:
    api.create_repo("enc")

    response = httpx.post(
        f"{live_server}/alice/enc/git-{service}",
        content=body,
        headers={"content-type": f"application/x-git-{service}-request"},
        auth=(user.name, user.token),
    )

    assert response.status_code == 400, response.text
    assert "protocol error" in response.json()["error"]


def test_a_gzip_bomb_is_refused_once_it_inflates_past_the_limit(api: HfApi, live_server: str) -> None:
    """Valid wants that git keeps reading, 96 MiB of them inflated from a few hundred kB."""
    api.create_repo("enc")
    want = pkt(f"want {api.repo_info('alice/enc').sha}\n".encode())
    bomb = gzip.compress(want * (96 * 1024 * 1024 // len(want)) + b"0000", 9)
    assert len(bomb) < 1024 * 1024

    response = httpx.post(
        f"{live_server}/alice/enc/git-upload-pack",
        content=bomb,
        headers={"content-type": "application/x-git-upload-pack-request", "content-encoding": "gzip"},
        timeout=60,
    )

    assert response.status_code == 413, response.text
    assert "inflates to more than" in response.json()["error"]


# --- who may clone and push -----------------------------------------------------------------------


def test_anonymous_git_gets_the_same_challenge_for_private_and_missing_repos(api: HfApi, live_server: str) -> None:
    seed(api, "alice/secret", private=True)

    answers = [
        httpx.get(f"{live_server}/alice/{name}/info/refs", params={"service": "git-upload-pack"})
        for name in ("secret", "missing")
    ]

    for answer in answers:
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == CHALLENGE
        assert answer.headers["x-error-code"] == "RepoNotFound"
    assert answers[0].content == answers[1].content


def test_private_repo_is_refused_to_git_exactly_like_a_missing_one(
    git: GitClient, api: HfApi, live_server: str, user: User, other_user: User
) -> None:
    weights = seed(api, "alice/secret", private=True)

    def clone(repo_id: str, auth: Credentials | None, where: str) -> subprocess.CompletedProcess[str]:
        (git.cwd / where).mkdir()
        return git.run("clone", remote(live_server, repo_id), "clone", cwd=git.cwd / where, auth=auth, check=False)

    for who, auth, symptom in [
        ("anonymous", None, "could not read Username"),  # git was asked for credentials and had none
        ("other-user", creds(other_user), "not found"),
    ]:
        private = clone("alice/secret", auth, f"{who}-private")
        missing = clone("alice/missing", auth, f"{who}-missing")
        assert private.returncode == missing.returncode != 0
        assert symptom in private.stderr
        assert private.stderr.replace("secret", "missing") == missing.stderr

    # the owner clones it, LFS file included (git-lfs, too, gets the credentials after a challenge)
    owner = clone("alice/secret", creds(user), "owner")
    assert owner.returncode == 0, owner.stderr
    assert (git.cwd / "owner" / "clone" / "weights.bin").read_bytes() == weights


@pytest.mark.parametrize(
    ("who", "symptom"),
    [("anonymous", "could not read Username"), ("other user", "403"), ("owner's read token", "403")],
)
def test_push_without_write_access_is_refused(
    git: GitClient, api: HfApi, live_server: str, user: User, other_user: User, who: str, symptom: str
) -> None:
    seed(api, "alice/public")
    git.run("clone", remote(live_server, "alice/public"), "work")
    work = git.cwd / "work"
    commit_file(git, work, "intruder.txt", b"should not land\n", "try to push")
    before = api.repo_info("alice/public").sha
    auth = {"anonymous": None, "other user": creds(other_user), "owner's read token": creds(user, read_only=True)}

    push = git.run("push", cwd=work, auth=auth[who], check=False)

    assert push.returncode != 0
    assert symptom in push.stderr
    assert api.repo_info("alice/public").sha == before


# --- pushing --------------------------------------------------------------------------------------


def test_pushed_small_and_lfs_files_are_seen_through_huggingface_hub(
    git: GitClient, api: HfApi, live_server: str, user: User, hub: Any
) -> None:
    seed(api, "alice/pushed")
    url = remote(live_server, "alice/pushed")
    git.run("clone", url, "work", auth=creds(user))
    work = git.cwd / "work"
    model = os.urandom(3 * 1024 * 1024 + 17)
    (work / "model.safetensors").write_bytes(model)
    (work / "notes.txt").write_bytes(b"pushed by git\n")
    (work / "README.md").write_text("---\nlicense: mit\ntags:\n- pushed-by-git\n---\n# Pushed\n")
    git.run("add", ".", cwd=work)
    git.run("commit", "-q", "-m", "Add a model by git", cwd=work)
    before = api.model_info("alice/pushed").last_modified

    push = git.run("push", cwd=work, auth=creds(user))

    # the locks API answered 501: git-lfs switched lock verification off for this remote, quietly
    assert "locking API" not in push.stderr
    assert git.run("config", f"lfs.{url}.git/info/lfs.locksverify", cwd=work).stdout.strip() == "false"
    info = api.model_info("alice/pushed", files_metadata=True)
    assert info.sha == git.head(work) == db_head(hub, "alice/pushed")
    assert api.list_repo_commits("alice/pushed")[0].title == "Add a model by git"
    siblings = {s.rfilename: s for s in info.siblings}
    assert siblings["model.safetensors"].lfs.sha256 == sha256(model)
    assert siblings["model.safetensors"].size == len(model)
    assert siblings["notes.txt"].lfs is None
    assert info.card_data["license"] == "mit"
    assert "pushed-by-git" in info.tags
    assert info.last_modified >= before
    for name, data in (("model.safetensors", model), ("notes.txt", b"pushed by git\n")):
        path = hf_hub_download("alice/pushed", name, endpoint=live_server, token=user.token)
        assert Path(path).read_bytes() == data

    git.run("clone", url, "again")
    assert (git.cwd / "again" / "model.safetensors").read_bytes() == model
    assert (git.cwd / "again" / "notes.txt").read_bytes() == b"pushed by git\n"


def test_pushed_branches_and_tags_are_seen_by_the_api(git: GitClient, api: HfApi, live_server: str, user: User) -> None:
    seed(api, "alice/refs")
    git.run("clone", remote(live_server, "alice/refs"), "work")
    work = git.cwd / "work"
    sha = commit_file(git, work, "feature.txt", b"feature\n", "a feature")
    git.run("tag", "v1", cwd=work)

    git.run("push", "origin", "HEAD:refs/heads/dev", "v1", cwd=work, auth=creds(user))

    refs = api.list_repo_refs("alice/refs")
    assert {b.name: b.target_commit for b in refs.branches}["dev"] == sha
    assert {t.name: t.target_commit for t in refs.tags}["v1"] == sha
    assert "feature.txt" not in api.list_repo_files("alice/refs")  # main did not move


@pytest.mark.parametrize(
    ("refspec", "message"),
    [
        (":main", "main is the default branch and cannot be deleted"),
        ("HEAD:refs/convert/parquet", "only branches"),
        ("HEAD:refs/heads/-x", "command-line option"),
        ("HEAD:refs/heads/HEAD", "special ref"),
        ("HEAD:refs/tags/" + "a" * 40, "looks like a commit sha"),
    ],
    ids=["delete-main", "convert-ref", "option-branch", "head-branch", "sha-tag"],
)
def test_push_cannot_delete_main_or_write_refs_the_hub_manages(
    git: GitClient, api: HfApi, live_server: str, user: User, refspec: str, message: str
) -> None:
    seed(api, "alice/rules")
    git.run("clone", remote(live_server, "alice/rules"), "work")
    before = api.list_repo_refs("alice/rules")

    push = git.run("push", "origin", refspec, cwd=git.cwd / "work", auth=creds(user), check=False)

    assert push.returncode != 0
    assert message in push.stderr
    assert "pre-receive hook declined" in push.stderr
    assert api.list_repo_refs("alice/rules") == before


def test_force_push_to_protected_main_is_refused(git: GitClient, api: HfApi, live_server: str, user: User) -> None:
    seed(api, "alice/guarded")
    git.run("clone", remote(live_server, "alice/guarded"), "work", auth=creds(user))
    work = git.cwd / "work"

    def protect(on: bool) -> None:
        response = httpx.put(
            f"{live_server}/api/models/alice/guarded/settings",
            json={"protectMain": on},
            headers={"authorization": f"Bearer {user.token}"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["protectMain"] is on

    protect(True)
    pushed = commit_file(git, work, "ff.txt", b"fast-forward\n", "a fast-forward")
    git.run("push", cwd=work, auth=creds(user))  # fast-forwards are still fine
    git.run("commit", "-q", "--amend", "-m", "history, rewritten", cwd=work)
    rewritten = git.head(work)

    refused = git.run("push", "--force", cwd=work, auth=creds(user), check=False)

    assert refused.returncode != 0
    assert "main is protected" in refused.stderr
    assert api.repo_info("alice/guarded").sha == pushed
    # the same push goes through once the setting is off: it is the setting that refused it
    protect(False)
    git.run("push", "--force", cwd=work, auth=creds(user))
    assert api.repo_info("alice/guarded").sha == rewritten


@pytest.mark.parametrize("uploaded_to", ["nowhere", "another repo"])
def test_push_with_a_pointer_to_an_lfs_object_never_uploaded_here_is_refused(
    git: GitClient, api: HfApi, live_server: str, user: User, hub: Any, uploaded_to: str
) -> None:
    seed(api, "alice/target")
    content = os.urandom(4096)
    if uploaded_to == "another repo":
        api.create_repo("other")
        api.upload_file(path_or_fileobj=content, path_in_repo="shared.bin", repo_id="alice/other")
    git.run("clone", remote(live_server, "alice/target"), "work")
    work = git.cwd / "work"
    # an LFS-tracked path holding a pointer (git-lfs's clean filter keeps pointers as they are)
    pointer = commit_file(git, work, "shared.bin", LfsPointer(sha256(content), len(content)).render(), "pointer")
    blob = git.run("rev-parse", f"{pointer}:shared.bin", cwd=work).stdout.strip()
    before = api.list_repo_refs("alice/target")

    # --no-verify skips git-lfs's pre-push upload, as a client without git-lfs would
    push = git.run("push", "--no-verify", cwd=work, auth=creds(user), check=False)

    assert push.returncode != 0
    assert "never uploaded to this repository" in push.stderr
    assert sha256(content) in push.stderr
    assert "pre-receive hook declined" in push.stderr
    assert api.list_repo_refs("alice/target") == before
    assert not hub.git.open("models/alice/target").has_object(blob)  # the quarantined objects are gone


def _api_commit_after(
    api: HfApi, barrier: threading.Barrier, delay: float, path: str, failures: list[Exception]
) -> None:
    barrier.wait()
    time.sleep(delay)
    try:
        api.upload_file(path_or_fileobj=b"by the API\n", path_in_repo=path, repo_id="alice/race")
    except Exception as exc:
        failures.append(exc)


def test_pushes_racing_api_commits_lose_no_commit(
    git: GitClient, api: HfApi, live_server: str, user: User, hub: Any
) -> None:
    seed(api, "alice/race")
    git.run("clone", remote(live_server, "alice/race"), "work")
    work = git.cwd / "work"
    outcomes = []
    for round_, api_delay in enumerate([0.0, 0.1, 0.2, 0.3, 0.4, 0.6]):  # the push wins some, the API others
        local = commit_file(git, work, f"git-{round_}.txt", b"by git\n", f"git commit {round_}")
        barrier, failures = threading.Barrier(2), []
        thread = threading.Thread(
            target=_api_commit_after, args=(api, barrier, api_delay, f"api-{round_}.txt", failures)
        )
        thread.start()
        barrier.wait()
        push = git.run("push", cwd=work, auth=creds(user), check=False)
        thread.join()

        assert failures == []
        outcomes.append("pushed" if push.returncode == 0 else "rejected")
        if push.returncode != 0:
            assert "rejected" in push.stderr, push.stderr  # a clean refusal: the client pulls and pushes again
            assert f"git-{round_}.txt" not in api.list_repo_files("alice/race")
            git.run("pull", "-q", "--rebase", cwd=work)
            git.run("push", cwd=work, auth=creds(user))
        git.run("pull", "-q", "--rebase", cwd=work)
        if push.returncode == 0:
            git.run("merge-base", "--is-ancestor", local, "origin/main", cwd=work)  # the pushed commit itself
        files = api.list_repo_files("alice/race")
        assert {f"api-{round_}.txt", f"git-{round_}.txt"} <= set(files)  # both commits, whoever came first
        assert db_head(hub, "alice/race") == api.repo_info("alice/race").sha == git.head(work, "origin/main")

    fsck = git.run("--git-dir", str(hub.git.path_for("models/alice/race")), "fsck", "--full", "--no-dangling")
    assert fsck.stdout.strip() == ""
    assert len(api.list_repo_commits("alice/race")) == 2 + 2 * len(outcomes)  # initial, seed, then two a round


def test_clone_of_a_repo_with_many_files_stays_quick(git: GitClient, api: HfApi, live_server: str, user: User) -> None:
    api.create_repo("many")
    git.run("clone", remote(live_server, "alice/many"), "work")
    work = git.cwd / "work"
    for i in range(2000):
        folder = work / f"part-{i % 20:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"file-{i:05d}.txt").write_text(f"file {i}\n")
    git.run("add", ".", cwd=work)
    git.run("commit", "-q", "-m", "2000 files", cwd=work)
    git.run("push", cwd=work, auth=creds(user))

    started = time.monotonic()
    git.run("clone", "-q", remote(live_server, "alice/many"), "copy")
    elapsed = time.monotonic() - started

    assert sum(1 for p in (git.cwd / "copy").rglob("file-*.txt")) == 2000
    assert elapsed < 60
    assert len(api.list_repo_files("alice/many")) == 2001


def test_a_push_with_an_oversized_commit_message_is_refused(
    git: GitClient, api: HfApi, live_server: str, user: User
) -> None:
    seed(api, "alice/wordy")
    head = api.repo_info("alice/wordy").sha
    git.run("clone", remote(live_server, "alice/wordy"), "work", auth=creds(user))
    work = git.cwd / "work"
    (work / "note.txt").write_text("note\n")
    git.run("add", "note.txt", cwd=work)
    message = git.cwd / "message.txt"
    message.write_text("A long story\n\n" + "word " * 300_000)  # 1.5 MB: listings would show all of it
    git.run("commit", "-q", "-F", str(message), cwd=work)

    refused = git.run("push", cwd=work, auth=creds(user), check=False)

    assert refused.returncode != 0
    assert "message is too long" in refused.stderr
    assert api.repo_info("alice/wordy").sha == head
    # the same change with a shorter message goes through
    git.run("commit", "-q", "--amend", "-m", "A short story", cwd=work)
    git.run("push", cwd=work, auth=creds(user))
    assert api.list_repo_commits("alice/wordy")[0].title == "A short story"
