"""Helpers of the website tests: seed repos through the official client, sign in without the form, read the
CSRF token a page hands out, and save screenshots as test artifacts."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
from huggingface_hub import CommitOperationAdd, HfApi

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def tiny_png() -> bytes:
    """A valid 2x2 PNG, so that an <img> in a card really loads."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xf5\x9e\x0b" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def seed(
    live_server: str,
    token: str,
    repo_id: str,
    files: dict[str, bytes],
    *,
    repo_type: str = "model",
    private: bool = False,
    message: str = "Add files",
    revision: str | None = None,
) -> str:
    api = HfApi(endpoint=live_server, token=token)
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
    operations = [CommitOperationAdd(path, content) for path, content in files.items()]
    return api.create_commit(repo_id, operations, commit_message=message, repo_type=repo_type, revision=revision).oid


def session_cookie(hub: Any, username: str) -> str:
    """A signed-in session for ``username``, as the login form would make it."""
    from hubstead.accounts.services import AccountService
    from hubstead.accounts.sessions import SessionService

    with hub.sessions.begin() as session:
        return SessionService(session).create_session(AccountService(session).get_user(username))


def csrf_token(client: httpx.Client, path: str = "/login") -> str:
    """Load a page (which sets the CSRF cookie) and read the token its forms carry."""
    response = client.get(path, headers={"accept": "text/html"})
    found = CSRF_INPUT.search(response.text)
    assert found, f"no CSRF token on {path}: {response.status_code}"
    return found.group(1)


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
