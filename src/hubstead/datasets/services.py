"""ViewerService: what the dataset viewer answers (splits, rows, search, filter, statistics, size, info, parquet
files), for the revision at the head of a dataset's main branch, with the same permissions as its files.

Each answer reads only the derived data of that exact revision: after a push, the viewer says the conversion is
running until the new revision's data is published, and never serves rows of another revision."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
from sqlalchemy import select

from hubstead.accounts.permissions import Actor
from hubstead.config import Settings
from hubstead.datasets import duck
from hubstead.datasets.filters import parse_orderby, parse_where
from hubstead.datasets.index import ROW_ID, search_words
from hubstead.datasets.store import INDEX, ConfigInfo, DerivedStore, RevisionState, SplitInfo
from hubstead.datasets.tasks import CONVERT, dedup_key, request_conversion, viewer_disabled
from hubstead.errors import InvalidViewerParameterError, ViewerNotReadyError, ViewerResponseNotFoundError
from hubstead.jobs.models import Job, JobState
from hubstead.jobs.services import JobQueue
from hubstead.repos.models import Repo, RepoType
from hubstead.repos.services import DEFAULT_BRANCH, RepoService

MAX_LENGTH = 100
FIRST_ROWS = 100
FIRST_ROWS_MAX_BYTES = 1_000_000
CELL_MAX_CHARS = 5_000  # first-rows: longer strings are cut and listed in truncated_cells
MAX_OFFSET = 10**12
MAX_QUERY = 1024
MAX_INLINE_MEDIA = 512 * 1024  # bytes of an image or audio cell given inline as a data: URL


@dataclass(frozen=True)
class ViewedRevision:
    repo: Repo
    sha: str
    state: RevisionState


@dataclass(frozen=True)
class ConversionStatus:
    """The state of a dataset's viewer for the head revision: ``ready``, ``running``, ``failed`` or ``none``."""

    state: str
    message: str = ""
    progress: float = 0.0


@dataclass(frozen=True)
class Page:
    features: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    num_rows_total: int

    def to_json(self) -> dict[str, Any]:
        return {
            "features": self.features,
            "rows": self.rows,
            "num_rows_total": self.num_rows_total,
            "num_rows_per_page": MAX_LENGTH,
            "partial": False,
        }


class ViewerService:
    """Read-only queries of the viewer; may queue a conversion a revision never had (older than the viewer)."""

    def __init__(
        self, repos: RepoService, settings: Settings, queue: JobQueue | None = None, pool: duck.DuckPool | None = None
    ) -> None:
        self.repos = repos
        self.settings = settings
        self.queue = queue
        self.pool = pool
        self.store = DerivedStore(settings.data_dir / "datasets")

    # --- which revision -----------------------------------------------------------------------

    def get_dataset(self, dataset: str, actor: Actor) -> Repo:
        """The dataset repo if ``actor`` may read its files (private: not found; gated: needs a grant)."""
        if not dataset or len(dataset) > 200:
            raise InvalidViewerParameterError("Parameter 'dataset' is required")
        return self.repos.get_repo_for_download(RepoType.DATASET, dataset, actor)

    def head(self, repo: Repo) -> str | None:
        git = self.repos.open_git_for_reading(repo)
        return git.ref_target(f"refs/heads/{DEFAULT_BRANCH}")

    def status(self, repo: Repo) -> ConversionStatus:
        sha = self.head(repo)
        if sha is None or not self.settings.datasets.enabled:
            return ConversionStatus("none", "This dataset has no data to show" if sha is None else "The viewer is off")
        if viewer_disabled(repo):
            return ConversionStatus("none", "The dataset's card turns the viewer off (viewer: false)")
        if self.store.find_state(repo.id, sha) is not None:
            return ConversionStatus("ready")
        job = self.repos.session.scalars(
            select(Job).where(Job.kind == CONVERT, Job.dedup_key == dedup_key(repo.id, sha)).order_by(Job.id.desc())
        ).first()
        if job is None:
            if self.queue is not None and repo.head_sha == sha:
                request_conversion(self.queue, self.settings, self.repos.session, repo, sha)
            return ConversionStatus("running", "The conversion of this revision is queued")
        if job.state in (JobState.FAILED, JobState.CANCELLED):
            return ConversionStatus("failed", f"The conversion failed: {(job.error or job.state.value)[:500]}")
        if job.state is JobState.SUCCEEDED:  # succeeded elsewhere: this machine lacks the derived data
            if self.queue is not None:
                request_conversion(self.queue, self.settings, self.repos.session, repo, sha)
            return ConversionStatus("running", "The conversion of this revision is queued")
        return ConversionStatus("running", job.progress_message or "The conversion is running", job.progress)

    def view(self, dataset: str, actor: Actor) -> ViewedRevision:
        repo = self.get_dataset(dataset, actor)
        status = self.status(repo)
        if status.state != "ready":
            raise (ViewerResponseNotFoundError if status.state == "none" else ViewerNotReadyError)(status.message)
        sha = self.head(repo)
        assert sha is not None
        state = self.store.find_state(repo.id, sha)
        if state is None:
            raise ViewerNotReadyError("The conversion of this revision is running")
        return ViewedRevision(repo, sha, state)

    def config(self, viewed: ViewedRevision, name: str | None) -> ConfigInfo:
        config = viewed.state.config(name or "")
        if config is None:
            raise ViewerResponseNotFoundError(f"Not found: config {name!r}")
        return config

    def split(self, viewed: ViewedRevision, config: str | None, split: str | None) -> SplitInfo:
        info = self.config(viewed, config)
        if info.error:
            raise ViewerResponseNotFoundError(f"Config {info.name!r} could not be converted: {info.error}")
        found = next((s for s in info.splits if s.name == split), None)
        if found is None:
            raise ViewerResponseNotFoundError(f"Not found: split {split!r} of config {info.name!r}")
        return found

    # --- rows ---------------------------------------------------------------------------------

    @contextmanager
    def _connect(self, viewed: ViewedRevision, config: str, split: str) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.store.split_dir(viewed.repo.id, viewed.sha, config, split) / INDEX
        if not path.is_file():
            raise ViewerNotReadyError("The index of this split is missing; it is being rebuilt")
        con = self.pool.cursor(path) if self.pool is not None else duck.connect(self.settings, path, read_only=True)
        try:
            yield con
        finally:
            con.close()

    def rows(self, viewed: ViewedRevision, config: str, split: str, offset: int, length: int) -> Page:
        info = self.split(viewed, config, split)
        offset, length = _bounds(offset, length)
        with self._connect(viewed, config, split) as con:
            rows = _fetch(
                con,
                f"SELECT * FROM data WHERE {ROW_ID} >= ? AND {ROW_ID} < ? ORDER BY {ROW_ID}",
                [offset, offset + length],
            )
        return Page(features(info), rows, info.num_rows)

    def first_rows(
        self, viewed: ViewedRevision, config: str, split: str
    ) -> tuple[SplitInfo, list[dict[str, Any]], bool]:
        info = self.split(viewed, config, split)
        with self._connect(viewed, config, split) as con:
            rows = _fetch(con, f"SELECT * FROM data WHERE {ROW_ID} < ? ORDER BY {ROW_ID}", [FIRST_ROWS], CELL_MAX_CHARS)
        kept: list[dict[str, Any]] = []
        size = 0
        for row in rows:
            size += len(str(row["row"]))
            if size > FIRST_ROWS_MAX_BYTES and len(kept) >= 10:
                break
            kept.append(row)
        return info, kept, len(kept) < info.num_rows

    def search(self, viewed: ViewedRevision, config: str, split: str, query: str, offset: int, length: int) -> Page:
        info = self.split(viewed, config, split)
        if not info.searchable:
            raise InvalidViewerParameterError("This split has no string column to search")
        if len(query) > MAX_QUERY:
            raise InvalidViewerParameterError(f"Parameter 'query' is too long (at most {MAX_QUERY} characters)")
        words = search_words(query)[:32]
        offset, length = _bounds(offset, length)
        if not words:
            return Page(features(info), [], 0)
        marks = ", ".join("?" for _ in words)
        hits = (
            f"SELECT row_idx FROM tokens WHERE token IN ({marks}) "
            f"GROUP BY row_idx HAVING count(DISTINCT token) = {len(words)}"
        )
        with self._connect(viewed, config, split) as con:
            total = _scalar(con, f"SELECT count(*) FROM ({hits})", words)
            ids = [
                r[0]
                for r in con.execute(f"{hits} ORDER BY row_idx LIMIT ? OFFSET ?", [*words, length, offset]).fetchall()
            ]
            rows = (
                _fetch(
                    con, f"SELECT * FROM data WHERE {ROW_ID} IN ({', '.join('?' for _ in ids)}) ORDER BY {ROW_ID}", ids
                )
                if ids
                else []
            )
        return Page(features(info), rows, total)

    def filter(
        self,
        viewed: ViewedRevision,
        config: str,
        split: str,
        where: str | None,
        orderby: str | None,
        offset: int,
        length: int,
    ) -> Page:
        info = self.split(viewed, config, split)
        columns = list(info.features)
        condition = parse_where(where, columns) if where else None
        order = parse_orderby(orderby, columns) if orderby else None
        offset, length = _bounds(offset, length)
        clause = f" WHERE {condition.text}" if condition else ""
        params = condition.params if condition else []
        order_sql = f"{order}, {ROW_ID}" if order else ROW_ID
        with self._connect(viewed, config, split) as con:
            total = _scalar(con, f"SELECT count(*) FROM data{clause}", params)
            rows = _fetch(
                con, f"SELECT * FROM data{clause} ORDER BY {order_sql} LIMIT ? OFFSET ?", [*params, length, offset]
            )
        return Page(features(info), rows, total)


def features(info: SplitInfo) -> list[dict[str, Any]]:
    return [{"feature_idx": i, "name": name, "type": kind} for i, (name, kind) in enumerate(info.features.items())]


def _bounds(offset: int, length: int) -> tuple[int, int]:
    if offset < 0 or offset > MAX_OFFSET:
        raise InvalidViewerParameterError("Parameter 'offset' must be a non-negative integer")
    if length < 0 or length > MAX_LENGTH:
        raise InvalidViewerParameterError(f"Parameter 'length' must be between 0 and {MAX_LENGTH}")
    return offset, length


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> int:
    try:
        row = con.execute(sql, params).fetchone()
    except duckdb.Error as exc:
        raise InvalidViewerParameterError(f"The query could not run: {str(exc).splitlines()[0][:300]}") from None
    return int(row[0]) if row else 0


def _fetch(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any], max_chars: int | None = None
) -> list[dict[str, Any]]:
    try:
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description or []]
        records = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    except duckdb.Error as exc:
        # values of the wrong type for their column (a string compared with a number): the caller's mistake
        raise InvalidViewerParameterError(f"The query could not run: {str(exc).splitlines()[0][:300]}") from None
    out = []
    for record in records:
        idx = record.pop(ROW_ID)
        truncated: list[str] = []
        row = {name: _cell(name, value, max_chars, truncated) for name, value in record.items()}
        out.append({"row_idx": idx, "row": row, "truncated_cells": truncated})
    return out


def _cell(name: str, value: Any, max_chars: int | None, truncated: list[str]) -> Any:
    if isinstance(value, dict) and set(value) == {"bytes", "path"}:
        data = value.get("bytes")
        if not isinstance(data, bytes):
            return None
        if len(data) > MAX_INLINE_MEDIA:  # not inlined: a page of rows stays small
            truncated.append(name)
            return {"src": None, "size": len(data)}
        return {"src": f"data:{media_type(data)};base64," + base64.b64encode(data).decode()}
    if isinstance(value, bytes):
        return base64.b64encode(value[:1024]).decode()
    if isinstance(value, str) and max_chars is not None and len(value) > max_chars:
        truncated.append(name)
        return value[:max_chars]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


MAGIC = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "audio/wav"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"BM", "image/bmp"),
)


def media_type(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in MAGIC if data.startswith(magic)), "application/octet-stream")
