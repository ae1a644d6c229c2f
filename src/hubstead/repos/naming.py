"""Repo ids and paths inside repos: what is accepted, and the clear errors for what is not."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hubstead.errors import InvalidPathError, InvalidRepoNameError
from hubstead.repos.models import RepoType

REPO_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$")
FORBIDDEN_PATH_PARTS = frozenset({"", ".", ".."})
MAX_PATH_LENGTH = 1024


@dataclass(frozen=True)
class RepoRef:
    type: RepoType
    namespace: str
    name: str

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def storage_key(self) -> str:
        return f"{self.type.value}s/{self.namespace}/{self.name}"


def validate_repo_name(name: str) -> str:
    if not REPO_NAME.fullmatch(name) or "--" in name or ".." in name or name.lower().endswith(".git"):
        raise InvalidRepoNameError(
            f"Invalid repo name {name!r}: use letters, digits, '-', '_' or '.', start and end with a letter "
            "or digit, at most 96 characters, no '--' or '..', not ending in '.git'"
        )
    return name


def parse_repo_id(repo_id: str) -> tuple[str, str]:
    """Split ``namespace/name``; both parts are validated."""
    parts = repo_id.split("/")
    if len(parts) != 2:
        raise InvalidRepoNameError(f"Invalid repo id {repo_id!r}: expected 'namespace/name'")
    validate_repo_name(parts[0])
    validate_repo_name(parts[1])
    return parts[0], parts[1]


def validate_path_in_repo(path: str) -> str:
    """A file path inside a repo: relative, no traversal, nothing under ``.git/``."""
    if not path or len(path) > MAX_PATH_LENGTH:
        raise InvalidPathError(f"Invalid path {path!r}: empty or longer than {MAX_PATH_LENGTH} characters")
    if "\\" in path or "\x00" in path or any(ord(c) < 32 for c in path):
        raise InvalidPathError(f"Invalid path {path!r}: backslashes and control characters are not allowed")
    if path.startswith("/"):
        raise InvalidPathError(f"Invalid path {path!r}: paths in a repo are relative")
    parts = path.split("/")
    if any(part in FORBIDDEN_PATH_PARTS for part in parts):
        raise InvalidPathError(f"Invalid path {path!r}: empty, '.' or '..' segments are not allowed")
    if parts[0] == ".git" or any(part == ".git" for part in parts):
        raise InvalidPathError(f"Invalid path {path!r}: '.git' folders are reserved")
    return path
