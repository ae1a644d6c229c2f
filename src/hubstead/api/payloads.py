"""Wire shapes of what the API returns, as huggingface_hub parses them (dates always end in ``Z``)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from hubstead.gitstore import CommitMeta
from hubstead.repos.files import RepoEntry
from hubstead.repos.models import Repo, RepoType
from hubstead.scanning.models import ScanFormat
from hubstead.scanning.services import FileStatus, RevisionStatus


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def repo_url(base_url: str, repo: Repo) -> str:
    return f"{base_url}/{repo.type.url_prefix}{repo.repo_id}"


def tree_entry(
    item: RepoEntry,
    last_commit: CommitMeta | None = None,
    xet_hashes: dict[str, str] | None = None,
    security: dict[str, Any] | None = None,
) -> dict[str, Any]:
    entry = item.entry
    out: dict[str, Any] = {"type": entry.type, "oid": entry.oid, "size": item.size, "path": entry.path}
    if item.lfs:
        out["lfs"] = {"oid": item.lfs.oid, "size": item.lfs.size, "pointerSize": item.pointer_size}
        if xet_hashes and item.lfs.oid in xet_hashes:
            out["xetHash"] = xet_hashes[item.lfs.oid]
    if last_commit is not None:
        out["lastCommit"] = {"id": last_commit.sha, "title": last_commit.title, "date": iso(last_commit.date)}
    if security is not None:
        out["securityFileStatus"] = security
    return out


DISCUSSION_REFERENCE = re.compile(r"(?<![\w&])#(\d{1,9})\b")  # "#12", not "&#12;" (an escaped character)
NO_AV_SCAN = {"status": "unscanned", "message": "This hub runs no antivirus scan"}
NOT_A_PICKLE = {"status": "unscanned", "message": "Not a pickle-based format"}
IMPORTS_HIDDEN = "The imports found are shown to those who may download this repository's files"


def security_file_status(status: FileStatus, detailed: bool) -> dict[str, Any]:
    """A file's ``securityFileStatus``, as huggingface.co words it (``avScan`` and ``pickleImportScan`` always
    present: huggingface_hub reads both). Safetensors files carry Hubstead's header check as ``safetensorsScan``.
    ``detailed``: the caller may download the files, and so see the imports found in them."""
    scan: dict[str, Any] = {"status": status.status}
    if status.message:
        scan["message"] = status.message
    if status.version:
        scan["version"] = status.version
    out: dict[str, Any] = {"status": status.status, "avScan": NO_AV_SCAN, "pickleImportScan": NOT_A_PICKLE}
    if status.format is ScanFormat.SAFETENSORS:
        out["safetensorsScan"] = scan
    elif detailed:
        out["pickleImportScan"] = scan | {"pickleImports": status.imports or []}
    else:
        out["pickleImportScan"] = scan | {"message": " ".join(filter(None, [status.message, IMPORTS_HIDDEN]))}
    return out


def security_repo_status(status: RevisionStatus) -> dict[str, Any]:
    """``securityRepoStatus`` of a revision, and the body of ``/scan``."""
    return {
        "scansDone": status.scans_done,
        "filesWithIssues": [{"path": f.path, "level": f.status} for f in status.files_with_issues],
    }


def sibling(item: RepoEntry, blobs: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"rfilename": item.path}
    if blobs:
        out["size"] = item.size
        out["blobId"] = item.entry.oid
        if item.lfs:
            out["lfs"] = {"size": item.lfs.size, "sha256": item.lfs.oid, "pointerSize": item.pointer_size}
    return out


def commit_item(commit: CommitMeta, repo_url: str | None = None) -> dict[str, Any]:
    """A commit in a listing; with ``repo_url`` (``?expand[]=formatted``), its title and message as HTML too
    (``formatted``: ``{"title", "message"}``), with ``#N`` linked to the repo's discussion N."""
    out: dict[str, Any] = {
        "id": commit.sha,
        "title": commit.title,
        "message": commit.message,
        "date": iso(commit.date),
        "authors": [{"user": commit.author_name}],
    }
    if repo_url is not None:
        out["formatted"] = {
            "title": formatted_text(commit.title, repo_url),
            "message": formatted_text(commit.message, repo_url),
        }
    return out


def formatted_text(text: str, repo_url: str) -> str:
    escaped = html.escape(text, quote=True)
    return DISCUSSION_REFERENCE.sub(lambda m: f'<a href="{repo_url}/discussions/{m[1]}">#{m[1]}</a>', escaped)


def repo_summary(repo: Repo) -> dict[str, Any]:
    """What a listing shows of a repo by default (``GET /api/models`` and friends)."""
    out: dict[str, Any] = {
        "_id": f"{repo.id:024x}",
        "id": repo.repo_id,
        "author": repo.namespace,
        "likes": repo.likes,
        "trendingScore": repo.trending_score,
        "private": repo.private,
        "downloads": repo.downloads,
        "tags": list(repo.tags or []),
        "createdAt": iso(repo.created_at),
    }
    if repo.type is RepoType.MODEL:
        out["modelId"] = repo.repo_id
        if repo.pipeline_tag:
            out["pipeline_tag"] = repo.pipeline_tag
        if repo.library_name:
            out["library_name"] = repo.library_name
    if repo.type is RepoType.SPACE:
        out["sdk"] = (repo.card_data or {}).get("sdk", repo.sdk)
    return out


def repo_info(repo: Repo, sha: str, siblings: list[dict[str, Any]] | None, last_modified: datetime) -> dict[str, Any]:
    """Everything about ``repo`` at commit ``sha``: the info payload, and a listing's ``full`` item."""
    facts = repo.file_facts or {}
    out = repo_summary(repo) | {
        "sha": sha,
        "lastModified": iso(last_modified),
        "gated": repo.gated or False,
        "disabled": False,
        "downloadsAllTime": repo.downloads_all_time,
        "cardData": repo.card_data or {},
    }
    if siblings is not None:
        out["siblings"] = siblings
    if repo.type is RepoType.MODEL:
        if "config" in facts:
            out["config"] = facts["config"]
        if "safetensors" in facts:
            out["safetensors"] = facts["safetensors"]
        if isinstance(out["cardData"].get("model-index"), list):
            out["model-index"] = out["cardData"]["model-index"]
    if repo.type is RepoType.SPACE:
        out["runtime"] = {"stage": "NO_APP_FILE", "hardware": {"current": None, "requested": None}}
    return out
