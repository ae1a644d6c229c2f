"""A real ``git`` + ``git-lfs`` client for tests: its own HOME and global config in a temp dir (the real
``~/.gitconfig`` is never read or written), credentials from a helper that answers only when a test gives a
token, and no terminal prompts (a 401 without credentials fails at once)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

# git asks its credential helper only after a 401 challenge; this one answers from the environment
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get && test -n "$HUBSTEAD_TEST_TOKEN" && '
    'echo "username=$HUBSTEAD_TEST_USER" && echo "password=$HUBSTEAD_TEST_TOKEN"; }; f'
)


@dataclass(frozen=True)
class Credentials:
    username: str
    token: str


@dataclass
class GitClient:
    env: dict[str, str]
    cwd: Path

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        auth: Credentials | None = None,
        check: bool = True,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if auth is not None:
            env |= {"HUBSTEAD_TEST_USER": auth.username, "HUBSTEAD_TEST_TOKEN": auth.token}
        result = subprocess.run(
            ["git", *args], cwd=cwd or self.cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def head(self, repo: Path, rev: str = "HEAD") -> str:
        return self.run("rev-parse", rev, cwd=repo).stdout.strip()


def make_git_client(tmp_path: Path) -> GitClient:
    if shutil.which("git-lfs") is None:
        pytest.fail("git-lfs is not installed: `make system-deps` installs it (apt-get install git-lfs)")
    home = tmp_path / "git-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "HUBSTEAD_TEST_", "SSH_ASKPASS"))}
    env |= {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }
    client = GitClient(env=env, cwd=tmp_path)
    client.run("lfs", "install", "--skip-repo")
    for key, value in {
        "user.name": "Git Tester",
        "user.email": "tester@example.org",
        "init.defaultBranch": "main",
        "credential.helper": CREDENTIAL_HELPER,
    }.items():
        client.run("config", "--global", key, value)
    return client
