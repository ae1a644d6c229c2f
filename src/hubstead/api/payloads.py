"""Wire shapes of what the API returns, as huggingface_hub parses them (dates always end in ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hubstead.gitstore import CommitMeta
from hubstead.repos.files import RepoEntry
from hubstead.repos.models import Repo, RepoType


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def repo_url(base_url: str, repo: Repo) -> str:
    return f"{base_url}/{repo.type.url_prefix}{repo.repo_id}"


def tree_entry(item: RepoEntry, last_commit: CommitMeta | None = None) -> dict[str, Any]:
    entry = item.entry
    out: dict[str, Any] = {"type": entry.type, "oid": entry.oid, "size": item.size, "path": entry.path}
    if item.lfs:
        out["lfs"] = {"oid": item.lfs.oid, "size": item.lfs.size, "pointerSize": item.pointer_size}
    if last_commit is not None:
        out["lastCommit"] = {"id": last_commit.sha, "title": last_commit.title, "date": iso(last_commit.date)}
    return out


def sibling(item: RepoEntry, blobs: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"rfilename": item.path}
    if blobs:
        out["size"] = item.size
        out["blobId"] = item.entry.oid
        if item.lfs:
            out["lfs"] = {"size": item.lfs.size, "sha256": item.lfs.oid, "pointerSize": item.pointer_size}
    return out


def commit_item(commit: CommitMeta) -> dict[str, Any]:
    return {
        "id": commit.sha,
        "title": commit.title,
        "message": commit.message,
        "date": iso(commit.date),
        "authors": [{"user": commit.author_name}],
    }


def repo_info(repo: Repo, sha: str, siblings: list[dict[str, Any]] | None, last_modified: datetime) -> dict[str, Any]:
    """The ``model_info`` / ``dataset_info`` / ``space_info`` payload of ``repo`` at commit ``sha``."""
    card = repo.card_data or {}
    out: dict[str, Any] = {
        "_id": f"{repo.id:024x}",
        "id": repo.repo_id,
        "author": repo.namespace,
        "sha": sha,
        "lastModified": iso(last_modified),
        "createdAt": iso(repo.created_at),
        "private": repo.private,
        "gated": repo.gated or False,
        "disabled": False,
        "downloads": 0,
        "downloadsAllTime": 0,
        "likes": 0,
        "trendingScore": 0,
        "tags": _tags(repo, card),
        "cardData": card,
    }
    if siblings is not None:
        out["siblings"] = siblings
    if repo.type is RepoType.MODEL:
        out["modelId"] = repo.repo_id
        if isinstance(card.get("pipeline_tag"), str):
            out["pipeline_tag"] = card["pipeline_tag"]
        if isinstance(card.get("library_name"), str):
            out["library_name"] = card["library_name"]
    if repo.type is RepoType.SPACE:
        out["sdk"] = card.get("sdk", repo.sdk)
        out["runtime"] = {"stage": "NO_APP_FILE", "hardware": {"current": None, "requested": None}}
    return out


def _tags(repo: Repo, card: dict[str, Any]) -> list[str]:
    tags: list[str] = []
    raw = card.get("tags")
    if isinstance(raw, str):
        tags.append(raw)
    elif isinstance(raw, list):
        tags.extend(t for t in raw if isinstance(t, str))
    return list(dict.fromkeys(tags))
