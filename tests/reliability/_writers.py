"""Writers for the crash tests, each run as its own process against a ``hubstead serve`` that the test kills and
restarts: they keep committing through the official client (LFS or Xet) or ``git push`` until told to stop,
and record every commit the server acknowledged, with the sha256 of each file it added, in a JSON-lines file
(flushed and fsynced before the next attempt, so a record is never lost with the writer).

Usage: ``python -m tests.reliability._writers KIND ENDPOINT TOKEN REPO ACKS STOP [WORKDIR]``."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ATTEMPT_PAUSE = 0.05
LFS_SIZES = (12_000, 300_000)  # *.bin files are LFS (the default .gitattributes of a model repo)


def _record(acks: Path, entry: dict[str, Any]) -> None:
    with acks.open("a") as out:
        out.write(json.dumps(entry) + "\n")
        out.flush()
        os.fsync(out.fileno())


def _files(n: int, tag: str) -> dict[str, bytes]:
    rng = random.Random(f"{tag}-{n}")
    return {
        f"{tag}/notes/{n:05d}.txt": f"commit {n} of {tag}\n".encode(),
        f"{tag}/weights/{n:05d}.bin": rng.randbytes(rng.randint(*LFS_SIZES)),
    }


def api_writer(endpoint: str, token: str, repo: str, acks: Path, stop: Path) -> None:
    """Commits through HfApi.create_commit (LFS or Xet, as HF_HUB_DISABLE_XET says)."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=endpoint, token=token)
    tag = "xet" if os.environ.get("HF_HUB_DISABLE_XET") != "1" else "lfs"
    n = 0
    while not stop.exists():
        files = _files(n, tag)
        try:
            info = api.create_commit(
                repo, [CommitOperationAdd(p, data) for p, data in files.items()], commit_message=f"{tag} {n}"
            )
        except Exception:  # the server is down or went down mid-commit: not acknowledged
            time.sleep(ATTEMPT_PAUSE)
            continue
        _record(acks, {"sha": info.oid, "files": {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}})
        n += 1


def _git(workdir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=workdir, capture_output=True, text=True, timeout=timeout, check=False)


def git_writer(endpoint: str, token: str, repo: str, acks: Path, stop: Path, workdir: Path) -> None:
    """Commits locally and pushes with git + git-lfs; after a failed push, starts again from the remote's tip."""
    remote = endpoint.replace("://", f"://user:{token}@", 1) + f"/{repo}"
    clone = workdir / "clone"
    while not stop.exists() and _git(workdir, "clone", "-q", remote, str(clone)).returncode != 0:
        time.sleep(ATTEMPT_PAUSE)
    n = 0
    while not stop.exists():
        files = _files(n, "git")
        for path, data in files.items():
            (clone / path).parent.mkdir(parents=True, exist_ok=True)
            (clone / path).write_bytes(data)
        _git(clone, "add", "-A")
        _git(clone, "commit", "-qm", f"git {n}")
        if _git(clone, "push", "-q", "origin", "HEAD:main").returncode == 0:
            sha = _git(clone, "rev-parse", "HEAD").stdout.strip()
            _record(acks, {"sha": sha, "files": {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}})
            n += 1
            continue
        time.sleep(ATTEMPT_PAUSE)
        while not stop.exists():  # not acknowledged: drop it and start again from what the server has
            if _git(clone, "fetch", "-q", "origin").returncode == 0:
                _git(clone, "reset", "-q", "--hard", "origin/main")
                break
            time.sleep(ATTEMPT_PAUSE)


def main(argv: list[str]) -> None:
    kind, endpoint, token, repo, acks, stop = argv[:6]
    if kind == "git":
        git_writer(endpoint, token, repo, Path(acks), Path(stop), Path(argv[6]))
    else:
        api_writer(endpoint, token, repo, Path(acks), Path(stop))


if __name__ == "__main__":
    main(sys.argv[1:])
