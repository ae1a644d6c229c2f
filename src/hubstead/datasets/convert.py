"""Converting one revision of a dataset repo: its data files (as the card's ``configs:`` or the naming rules
lay them out) become parquet shards ``{config}/{split}/NNNN.parquet``, committed to ``refs/convert/parquet``
through the hub's git and object store, and a DuckDB index with statistics per split under the derived data.

Idempotent: a retried run builds everything again aside and publishes it in one rename; blobs and links that
an earlier attempt stored are reused; a commit whose tree is already the branch's is not made twice. A config
that cannot be read is recorded with its error; the others convert."""

from __future__ import annotations

import hashlib
import logging
import shutil
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from sqlalchemy.orm import Session

from hubstead.datasets.index import IndexBuilder
from hubstead.datasets.layout import ConfigPlan, plan_configs
from hubstead.datasets.readers import DataFileError, iter_split, table_features
from hubstead.datasets.store import INDEX, ConfigInfo, DerivedStore, RevisionState, ShardInfo, SplitInfo
from hubstead.errors import ConcurrentUpdateError, HubsteadError
from hubstead.gitstore import Change
from hubstead.jobs.tasks import Adapters
from hubstead.objects.services import RepoObjects, blob_key
from hubstead.repos.cards import parse_card_data
from hubstead.repos.files import FileService
from hubstead.repos.lfs_pointer import LfsPointer
from hubstead.repos.models import Repo, RepoType
from hubstead.repos.services import DEFAULT_BRANCH, RepoService

log = logging.getLogger("hubstead.datasets")
PARQUET_REF = "refs/convert/parquet"
COMMIT_MESSAGE = "Update parquet files"
CONVERTER = ("parquet-converter", "parquet-converter@hubstead.invalid")
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"
ROW_GROUP_ROWS = 100_000
ROW_GROUP_ROWS_MEDIA = 100  # images and audio: small row groups, as huggingface.co writes them
CHUNK = 8 * 1024 * 1024
CAS_RETRIES = 5

Report = Callable[[float, str], None]


@dataclass(frozen=True)
class Source:
    repo_pk: int
    sha: str
    paths: dict[str, int]  # path -> size
    card: dict[str, Any] | None


def derived_store(adapters: Adapters) -> DerivedStore:
    return DerivedStore(adapters.settings.data_dir / "datasets")


def convert_revision(adapters: Adapters, repo_pk: int, sha: str, report: Report, attempt: str = "") -> RevisionState:
    """Convert revision ``sha`` of dataset repo ``repo_pk``; returns what was published."""
    source = _source(adapters, repo_pk, sha)
    store = derived_store(adapters)
    built = store.building_dir(repo_pk, sha, attempt or uuid.uuid4().hex[:8])
    fetched = built / "_source"
    fetched.mkdir()
    try:
        state = RevisionState(sha)
        plans = plan_configs(list(source.paths), source.card)
        for number, plan in enumerate(plans):
            report(number / max(1, len(plans)), f"config {plan.name}")
            state.configs.append(_convert_config(adapters, source, plan, built, _fetcher(adapters, source, fetched)))
        shutil.rmtree(fetched, ignore_errors=True)
        report(0.95, "committing parquet files")
        state.parquet_commit = _commit_parquet(adapters, source, built, state)
        store.publish(repo_pk, sha, built, state)
    except BaseException:
        shutil.rmtree(built, ignore_errors=True)
        raise
    store.drop_other_revisions(repo_pk, {sha, *_head(adapters, repo_pk)})
    return state


def _head(adapters: Adapters, repo_pk: int) -> list[str]:
    with adapters.sessions() as session:
        repo = session.get(Repo, repo_pk)
        return [repo.head_sha] if repo is not None and repo.head_sha else []


def _files(session: Session, adapters: Adapters) -> FileService:
    return FileService(RepoService(session, adapters.git, adapters.blobs), adapters.blobs)


class NothingToConvertError(Exception):
    """The repo is gone, is not a dataset, or no longer has the commit: no retry can change that."""


def _source(adapters: Adapters, repo_pk: int, sha: str) -> Source:
    with adapters.sessions() as session:
        repo = session.get(Repo, repo_pk)
        if repo is None or repo.type is not RepoType.DATASET:
            raise NothingToConvertError(f"repo {repo_pk} is gone or is not a dataset repo")
        try:
            git, commit = _files(session, adapters).resolve(repo, sha)
        except HubsteadError as exc:
            raise NothingToConvertError(f"commit {sha} is gone: {exc.message}") from None
        files = _files(session, adapters)
        entries = files.all_files(git, commit)
        paths = {e.path: e.size for e in entries}
        readme = git.get_entry(commit, "README.md")
        card = parse_card_data(git.read_blob(readme.oid).decode("utf-8", "replace")) if readme else None
    return Source(repo_pk, commit, paths, card)


def _fetcher(adapters: Adapters, source: Source, folder: Path) -> Callable[[str], Path]:
    def fetch(path: str) -> Path:
        local = folder / hashlib.sha256(path.encode()).hexdigest()
        if local.exists():
            return local
        with adapters.sessions() as session:
            files = _files(session, adapters)
            repo = session.get(Repo, source.repo_pk)
            if repo is None:
                raise DataFileError("the repository is gone")
            git, file = files.get_file(repo, source.sha, path)
            partial = local.with_suffix(".part")
            with partial.open("wb") as out:
                for piece in files.read_bytes(git, file, 0, file.entry.size):
                    out.write(piece)
            partial.rename(local)
        return local

    return fetch


def _convert_config(
    adapters: Adapters, source: Source, plan: ConfigPlan, built: Path, fetch: Callable[[str], Path]
) -> ConfigInfo:
    info = ConfigInfo(plan.name, error=plan.error)
    if plan.error:
        return info
    try:
        for split in plan.splits:
            schema, batches = iter_split(plan, split, fetch)
            split_info = _write_split(adapters, plan.name, split, schema, batches, built)
            split_info.num_bytes_original = sum(source.paths.get(p, 0) for p in plan.splits[split])
            info.splits.append(split_info)
    except (DataFileError, HubsteadError) as exc:
        info.error, info.splits = str(exc), []
    except Exception as exc:  # any reader or engine failure is this config's error, never the job's
        log.warning("converting config %s of repo %s failed:\n%s", plan.name, source.repo_pk, traceback.format_exc())
        info.error, info.splits = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500], []
    return info


def _write_split(
    adapters: Adapters, config: str, split: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch], built: Path
) -> SplitInfo:
    """Shards of about ``shard_bytes`` of Arrow data each and the index, from the split's batches as they come."""
    folder = built / config / split
    folder.mkdir(parents=True, exist_ok=True)
    features = table_features(schema)
    media = any(isinstance(f, dict) and f.get("_type") in ("Image", "Audio") for f in features.values())
    info = SplitInfo(split, features=features)
    shards = _ShardWriter(folder, f"{config}/{split}", schema, adapters.settings.datasets.shard_bytes, media)
    index = IndexBuilder(adapters.settings, folder / INDEX)
    try:
        for batch in batches:
            shards.write(batch)
            index.add(batch)
            info.num_rows += batch.num_rows
            info.num_bytes_memory += batch.nbytes
        info.shards = shards.close()
    except BaseException:
        shards.close()
        index.abort()
        raise
    info.num_bytes_parquet = sum(s.size for s in info.shards)
    info.searchable, info.statistics = index.finish(schema, features)
    return info


class _ShardWriter:
    """``NNNN.parquet`` files of about ``limit`` bytes of Arrow data each; row groups of 100,000 rows (100 for
    images and audio, as huggingface.co writes them)."""

    def __init__(self, folder: Path, prefix: str, schema: pa.Schema, limit: int, media: bool) -> None:
        self.folder, self.prefix, self.schema, self.limit = folder, prefix, schema, limit
        self.row_group = ROW_GROUP_ROWS_MEDIA if media else ROW_GROUP_ROWS
        self.writer: pq.ParquetWriter | None = None
        self.bytes = self.rows = 0
        self.done: list[ShardInfo] = []

    def _path(self) -> Path:
        return self.folder / f"{len(self.done):04d}.parquet"

    def write(self, batch: pa.RecordBatch) -> None:
        for at in range(0, max(batch.num_rows, 1), self.row_group):
            part = batch.slice(at, self.row_group)
            if self.writer is None:
                self.writer = pq.ParquetWriter(self._path(), self.schema, compression="snappy")
            self.writer.write_batch(part, row_group_size=self.row_group)
            self.bytes += part.nbytes
            self.rows += part.num_rows
            if self.bytes >= self.limit:
                self._finish()

    def _finish(self) -> None:
        assert self.writer is not None
        self.writer.close()
        path = self._path()
        oid, size = _sha256(path)
        self.done.append(ShardInfo(f"{self.prefix}/{path.name}", size, oid, self.rows))
        self.writer, self.bytes, self.rows = None, 0, 0

    def close(self) -> list[ShardInfo]:
        if self.writer is not None or not self.done:
            if self.writer is None:
                self.writer = pq.ParquetWriter(self._path(), self.schema, compression="snappy")
            self._finish()
        return self.done


def _card(state: RevisionState) -> bytes:
    """A card whose ``configs:`` name each config's splits, so that ``load_dataset(..., revision=
    "refs/convert/parquet")`` finds every config as the viewer shows it."""
    configs = [
        {
            "config_name": c.name,
            "data_files": [{"split": s.name, "path": f"{c.name}/{s.name}/*.parquet"} for s in c.splits],
        }
        for c in state.configs
        if c.splits
    ]
    front = yaml.safe_dump({"configs": configs}, sort_keys=False) if configs else ""
    return f"---\n{front}---\n".encode() if configs else b""


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# --- the refs/convert/parquet commit ------------------------------------------------------------


def _commit_parquet(adapters: Adapters, source: Source, built: Path, state: RevisionState) -> str | None:
    """Store the shards as LFS objects of the repo and commit them as the whole tree of ``refs/convert/parquet``;
    only while ``sha`` is still the head of the main branch (an older revision finishing late changes nothing)."""
    shards = [s for c in state.configs for sp in c.splits for s in sp.shards]
    for shard in shards:
        key = blob_key(shard.oid)
        if not adapters.blobs.exists(key):
            writer = adapters.blobs.open_writer(key)
            try:
                with (built / shard.path).open("rb") as f:
                    while chunk := f.read(CHUNK):
                        writer.write(chunk)
                writer.commit()
            except BaseException:
                writer.abort()
                raise
    with adapters.sessions.begin() as session:
        objects = RepoObjects(session, adapters.blobs)
        for shard in shards:
            objects.link(source.repo_pk, shard.oid, shard.size)
        repo = session.get(Repo, source.repo_pk)
        if repo is None or repo.head_sha not in (None, source.sha):
            return None
        git = RepoService(session, adapters.git, adapters.blobs).open_git(repo)
        changes = [Change(".gitattributes", git.write_blob(GITATTRIBUTES))]
        changes.append(Change("README.md", git.write_blob(_card(state))))
        changes += [Change(s.path, git.write_blob(LfsPointer(s.oid, s.size).render())) for s in shards]
        tree = git.build_tree(None, changes)
        for _ in range(CAS_RETRIES):
            tip = git.ref_target(PARQUET_REF)
            if tip is not None and git.tree_of(tip) == tree:
                return tip
            message = f"{COMMIT_MESSAGE}\n\nConverted from {DEFAULT_BRANCH} at {source.sha}"
            commit = git.write_commit(tree, [tip] if tip else [], message, *CONVERTER)
            try:
                git.update_ref(PARQUET_REF, commit, tip)
            except (ConcurrentUpdateError, HubsteadError):
                continue
            return commit
    return None
