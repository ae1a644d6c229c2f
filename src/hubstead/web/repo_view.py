"""What a repo page shows besides its files: the card's metadata as a side panel, the size of a revision, and
the snippets to use the repo from code, filled with this hub's address."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from hubstead.gitstore import GitRepo
from hubstead.repos.files import FileService
from hubstead.repos.indexing import as_list
from hubstead.repos.models import Repo, RepoType

README = "README.md"
MAX_CARD_BYTES = 2 * 1024 * 1024
SIZE_CACHE = 4096


@dataclass(frozen=True)
class Snippet:
    title: str
    language: str
    code: str


@dataclass(frozen=True)
class SidePanel:
    task: str | None
    library: str | None
    licenses: list[str]
    languages: list[str]
    datasets: list[str]
    base_models: list[str]
    tags: list[str]
    sdk: str | None
    parameters: int | None
    extra: dict[str, Any] = field(default_factory=dict)


def side_panel(repo: Repo) -> SidePanel:
    card = repo.card_data or {}
    shown = {repo.pipeline_tag, repo.library_name, repo.model_type}
    tags = [
        t
        for t in (repo.tags or [])
        if t not in shown and not t.startswith(("license:", "dataset:", "base_model:", "language:"))
    ]
    safetensors = (repo.file_facts or {}).get("safetensors") or {}
    total = safetensors.get("total")
    sdk = card.get("sdk") if isinstance(card.get("sdk"), str) else repo.sdk
    return SidePanel(
        task=repo.pipeline_tag
        or next(iter(as_list(card.get("task_categories"))), None)
        or next(iter(as_list(card.get("pipeline_tag"))), None),
        library=repo.library_name,
        licenses=as_list(card.get("license")),
        languages=as_list(card.get("language")),
        datasets=as_list(card.get("datasets")),
        base_models=as_list(card.get("base_model")),
        tags=[t for t in tags if t not in as_list(card.get("language"))][:30],
        sdk=sdk if repo.type is RepoType.SPACE else None,
        parameters=total if isinstance(total, int) else None,
    )


def snippets(repo: Repo, base_url: str) -> list[Snippet]:
    """How to use this repo from code, pointed at this hub (``HF_ENDPOINT``)."""
    repo_id = repo.repo_id
    env = f'import os\nos.environ["HF_ENDPOINT"] = "{base_url}"  # this hub, before importing the libraries\n'
    out: list[Snippet] = []
    if repo.type is RepoType.MODEL:
        if repo.pipeline_tag:
            code = (
                f'{env}\nfrom transformers import pipeline\n\npipe = pipeline("{repo.pipeline_tag}", model="{repo_id}")'
            )
        else:
            code = (
                f"{env}\nfrom transformers import AutoModel, AutoTokenizer\n\n"
                f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}")\n'
                f'model = AutoModel.from_pretrained("{repo_id}")'
            )
        out.append(Snippet("transformers", "python", code))
    if repo.type is RepoType.DATASET:
        out.append(
            Snippet("datasets", "python", f'{env}\nfrom datasets import load_dataset\n\nds = load_dataset("{repo_id}")')
        )
    kind = "" if repo.type is RepoType.MODEL else f', repo_type="{repo.type.value}"'
    out.append(
        Snippet(
            "huggingface_hub",
            "python",
            "from huggingface_hub import snapshot_download\n\n"
            f'path = snapshot_download("{repo_id}"{kind}, endpoint="{base_url}")',
        )
    )
    cli_kind = "" if repo.type is RepoType.MODEL else f" --repo-type {repo.type.value}"
    out.append(
        Snippet(
            "CLI and git",
            "bash",
            f"HF_ENDPOINT={base_url} hf download {repo_id}{cli_kind}\n\n"
            f"git clone {base_url}/{repo.type.url_prefix}{repo_id}",
        )
    )
    return out


class SizeCache:
    """Total size and file count of a commit's tree. A commit's tree never changes, so the sha is the key."""

    def __init__(self, size: int = SIZE_CACHE) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._size = size

    def get(self, files: FileService, git: GitRepo, sha: str) -> tuple[int, int]:
        with self._lock:
            hit = self._items.get(sha)
        if hit is not None:
            return hit
        entries = files.all_files(git, sha)
        value = (sum(e.size for e in entries), len(entries))
        with self._lock:
            self._items[sha] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


def read_text(git: GitRepo, sha: str, path: str, limit: int = MAX_CARD_BYTES) -> tuple[str, str] | None:
    """(text, blob oid) of a small text file at ``sha``, or None if missing, too large or binary."""
    entry = git.get_entry(sha, path)
    if entry is None or entry.type != "file" or entry.size > limit:
        return None
    data = git.read_blob(entry.oid)
    if b"\x00" in data[:8000]:
        return None
    return data.decode("utf-8", errors="replace"), entry.oid
