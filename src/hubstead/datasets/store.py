"""Derived data of the viewer, per source revision, under ``data_dir/datasets/{repo}/{sha}/``: the parquet
shards (as committed to ``refs/convert/parquet``), a DuckDB index per split and ``state.json`` (configs, splits,
features, sizes, statistics, per-config errors). A revision's folder appears whole (built aside, then renamed)
or not at all, so a reader never sees a half-built one; losing it loses nothing (the job rebuilds it)."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE = "state.json"
INDEX = "index.duckdb"
STATE_VERSION = 1


@dataclass
class ShardInfo:
    path: str  # in refs/convert/parquet: {config}/{split}/NNNN.parquet
    size: int
    oid: str
    num_rows: int


@dataclass
class SplitInfo:
    name: str
    num_rows: int = 0
    num_bytes_parquet: int = 0
    num_bytes_memory: int = 0
    num_bytes_original: int = 0
    features: dict[str, Any] = field(default_factory=dict)
    shards: list[ShardInfo] = field(default_factory=list)
    statistics: list[dict[str, Any]] = field(default_factory=list)
    searchable: bool = False


@dataclass
class ConfigInfo:
    name: str
    splits: list[SplitInfo] = field(default_factory=list)
    error: str | None = None


@dataclass
class RevisionState:
    """What the conversion of one source revision produced."""

    sha: str
    configs: list[ConfigInfo] = field(default_factory=list)
    parquet_commit: str | None = None
    version: int = STATE_VERSION

    def config(self, name: str) -> ConfigInfo | None:
        return next((c for c in self.configs if c.name == name), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RevisionState:
        data = json.loads(text)
        configs = [
            ConfigInfo(
                c["name"],
                [SplitInfo(**{**s, "shards": [ShardInfo(**sh) for sh in s["shards"]]}) for s in c["splits"]],
                c.get("error"),
            )
            for c in data["configs"]
        ]
        return cls(data["sha"], configs, data.get("parquet_commit"), data.get("version", STATE_VERSION))


class DerivedStore:
    """Where the derived data of each revision lives on this machine."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def revision_dir(self, repo_pk: int, sha: str) -> Path:
        return self.root / str(repo_pk) / sha

    def split_dir(self, repo_pk: int, sha: str, config: str, split: str) -> Path:
        return self.revision_dir(repo_pk, sha) / config / split

    def find_state(self, repo_pk: int, sha: str) -> RevisionState | None:
        path = self.revision_dir(repo_pk, sha) / STATE
        try:
            state = RevisionState.from_json(path.read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return state if state.version == STATE_VERSION else None

    def building_dir(self, repo_pk: int, sha: str, attempt: str) -> Path:
        """A fresh folder to build revision ``sha`` in; what earlier attempts left is removed."""
        parent = self.root / str(repo_pk)
        parent.mkdir(parents=True, exist_ok=True)
        for stale in parent.glob(f"{sha}.building-*"):
            shutil.rmtree(stale, ignore_errors=True)
        path = parent / f"{sha}.building-{attempt}"
        path.mkdir()
        return path

    def publish(self, repo_pk: int, sha: str, built: Path, state: RevisionState) -> None:
        """Make ``built`` the derived data of ``sha`` (replacing an older build of it) in one rename."""
        (built / STATE).write_text(state.to_json())
        final = self.revision_dir(repo_pk, sha)
        if final.exists():
            old = final.with_name(f"{sha}.old-{built.name.rsplit('-', 1)[-1]}")
            final.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        built.rename(final)

    def drop_other_revisions(self, repo_pk: int, keep: set[str]) -> None:
        """Remove derived data of revisions not in ``keep`` (older pushes of the main branch)."""
        parent = self.root / str(repo_pk)
        if not parent.is_dir():
            return
        for child in parent.iterdir():
            if child.name.split(".", 1)[0] not in keep and ".building-" not in child.name:
                shutil.rmtree(child, ignore_errors=True)
