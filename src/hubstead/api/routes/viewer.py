"""The dataset viewer's API under ``/datasets-server/`` (the JSON shapes of the public dataset-viewer service)
and the hub's parquet listing ``/api/datasets/{id}/parquet[/{config}[/{split}[/{n}.parquet]]]``. Every route
answers as the dataset's files do: private → not found, gated → needs a grant."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends

from hubstead.api.deps import ActorDep, BaseUrlDep, HubDep, RepoServiceDep
from hubstead.api.limits import BoundedJsonRoute
from hubstead.datasets.convert import PARQUET_REF
from hubstead.datasets.services import (
    FIRST_ROWS,
    MAX_LENGTH,
    ViewedRevision,
    ViewerService,
    features,
)
from hubstead.datasets.store import ConfigInfo, SplitInfo
from hubstead.errors import InvalidViewerParameterError, ViewerResponseNotFoundError

router = APIRouter(route_class=BoundedJsonRoute)
PREFIX = "/datasets-server"
MAX_PARAM = 200


async def get_viewer(repos: RepoServiceDep, hub: HubDep) -> ViewerService:
    return ViewerService(repos, hub.settings, hub.jobs, hub.duckdb)


ViewerDep = Annotated[ViewerService, Depends(get_viewer)]


def _int(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or len(value) > 15:
        raise InvalidViewerParameterError(f"Parameter '{name}' must be a non-negative integer")
    return int(value)


def _required(value: str | None, name: str) -> str:
    if not value:
        raise InvalidViewerParameterError(f"Parameter '{name}' is required")
    if len(value) > MAX_PARAM:
        raise InvalidViewerParameterError(f"Parameter '{name}' is too long")
    return value


def _parquet_url(base_url: str, viewed: ViewedRevision, path: str) -> str:
    return f"{base_url}/datasets/{viewed.repo.repo_id}/resolve/{quote(PARQUET_REF, safe='')}/{quote(path)}"


def _configs(viewed: ViewedRevision, config: str | None) -> list[ConfigInfo]:
    if config is None:
        return viewed.state.configs
    found = viewed.state.config(config)
    if found is None:
        raise ViewerResponseNotFoundError(f"Not found: config {config!r}")
    return [found]


def _failed(viewed: ViewedRevision, configs: list[ConfigInfo]) -> list[dict[str, Any]]:
    return [{"dataset": viewed.repo.repo_id, "config": c.name, "error": {"error": c.error}} for c in configs if c.error]


@router.get(f"{PREFIX}/is-valid")
def get_is_valid(
    viewer: ViewerDep, actor: ActorDep, dataset: str | None = None, config: str | None = None, split: str | None = None
) -> dict[str, Any]:
    viewed = viewer.view(_required(dataset, "dataset"), actor)
    splits = [s for c in _configs(viewed, config) if not c.error for s in c.splits if split in (None, s.name)]
    if split is not None and not splits:
        raise ViewerResponseNotFoundError(f"Not found: split {split!r}")
    ok = bool(splits)
    out = {"preview": ok, "viewer": ok, "search": any(s.searchable for s in splits), "filter": ok, "statistics": ok}
    if config is None:
        out["partial"] = False
    return out


@router.get(f"{PREFIX}/splits")
def get_splits(
    viewer: ViewerDep, actor: ActorDep, dataset: str | None = None, config: str | None = None
) -> dict[str, Any]:
    viewed = viewer.view(_required(dataset, "dataset"), actor)
    configs = _configs(viewed, config)
    splits = [{"dataset": viewed.repo.repo_id, "config": c.name, "split": s.name} for c in configs for s in c.splits]
    return {"splits": splits, "pending": [], "failed": _failed(viewed, configs)}


@router.get(f"{PREFIX}/first-rows")
def get_first_rows(
    viewer: ViewerDep, actor: ActorDep, dataset: str | None = None, config: str | None = None, split: str | None = None
) -> dict[str, Any]:
    viewed = viewer.view(_required(dataset, "dataset"), actor)
    info, rows, truncated = viewer.first_rows(viewed, _required(config, "config"), _required(split, "split"))
    return {
        "dataset": viewed.repo.repo_id,
        "config": config,
        "split": split,
        "features": features(info),
        "rows": rows[:FIRST_ROWS],
        "truncated": truncated,
    }


@router.get(f"{PREFIX}/rows")
def get_rows(
    viewer: ViewerDep,
    actor: ActorDep,
    dataset: str | None = None,
    config: str | None = None,
    split: str | None = None,
    offset: str | None = None,
    length: str | None = None,
) -> dict[str, Any]:
    viewed = viewer.view(_required(dataset, "dataset"), actor)
    page = viewer.rows(
        viewed,
        _required(config, "config"),
        _required(split, "split"),
        _int(offset, "offset", 0),
        _int(length, "length", MAX_LENGTH),
    )
    return page.to_json()


@router.get(f"{PREFIX}/search")
def search_rows(
    viewer: ViewerDep,
    actor: ActorDep,
    dataset: str | None = None,
    config: str | None = None,
    split: str | None = None,
    query: str | None = None,
    offset: str | None = None,
    length: str | None = None,
) -> dict[str, Any]:
    viewed = viewer.view(_required(dataset, "dataset"), actor)
    if query is None:
        raise InvalidViewerParameterError("Parameter 'query' is required")
    page = viewer.search(
        viewed,
        _required(config, "config"),
        _required(split, "split"),
        query,
        _int(offset, "offset", 0),
        _int(length, "length", MAX_LENGTH),
    )
    return page.to_json()


@router.get(f"{PREFIX}/filter")
def filter_rows(
    viewer: ViewerDep,
    actor: ActorDep,
    dataset: str | None = None,
    config: str | None = None,
    split: str | None = None,
    where: str | None = None,
    orderby: str | None = None,
    offset: str | None = None,
    length: str | None = None,
) -> dict[str, Any]:
    viewed = viewer.view(_required(dataset, "dataset"), actor)
    page = viewer.filter(
        viewed,
        _required(config, "config"),
        _required(split, "split"),
        where,
        orderby,
        _int(offset, "offset", 0),
        _int(length, "length", MAX_LENGTH),
    )
    return page.to_json()


@router.get(f"{PREFIX}/statistics")
def get_statistics(
    viewer: ViewerDep, actor: ActorDep, dataset: str | None = None, config: str | None = None, split: str | None = None
) -> dict[str, Any]:
    viewed = viewer.view(_required(dataset, "dataset"), actor)
    info = viewer.split(viewed, _required(config, "config"), _required(split, "split"))
    return {"num_examples": info.num_rows, "statistics": info.statistics, "partial": False}


@router.get(f"{PREFIX}/size")
def get_size(
    viewer: ViewerDep, actor: ActorDep, dataset: str | None = None, config: str | None = None
) -> dict[str, Any]:
    viewed = viewer.view(_required(dataset, "dataset"), actor)
    configs = [c for c in _configs(viewed, config) if not c.error]
    name = viewed.repo.repo_id
    splits = [
        {
            "dataset": name,
            "config": c.name,
            "split": s.name,
            "num_bytes_parquet_files": s.num_bytes_parquet,
            "num_bytes_memory": s.num_bytes_memory,
            "num_rows": s.num_rows,
            "num_columns": len(s.features),
        }
        for c in configs
        for s in c.splits
    ]

    def total(items: list[dict[str, Any]]) -> dict[str, int]:
        keys = ("num_bytes_parquet_files", "num_bytes_memory", "num_rows")
        return {k: sum(i[k] for i in items) for k in keys}

    per_config: list[dict[str, Any]] = [
        {
            "dataset": name,
            "config": c.name,
            "num_bytes_original_files": sum(s.num_bytes_original for s in c.splits),
            **total([s for s in splits if s["config"] == c.name]),
            "num_columns": max((len(s.features) for s in c.splits), default=0),
        }
        for c in configs
    ]
    original = sum(int(c["num_bytes_original_files"]) for c in per_config)
    size: dict[str, Any] = {"configs": per_config, "splits": splits}
    if config is None:
        size["dataset"] = {"dataset": name, "num_bytes_original_files": original, **total(splits)}
    else:
        size["config"] = per_config[0] if per_config else {}
    return {"size": size, "pending": [], "failed": _failed(viewed, _configs(viewed, config)), "partial": False}


@router.get(f"{PREFIX}/info")
def get_info(viewer: ViewerDep, actor: ActorDep, dataset: str | None = None, config: str | None = None) -> Any:
    viewed = viewer.view(_required(dataset, "dataset"), actor)

    def info(c: ConfigInfo) -> dict[str, Any]:
        first = c.splits[0] if c.splits else None
        return {
            "config_name": c.name,
            "features": first.features if first else {},
            "splits": {
                s.name: {"name": s.name, "num_bytes": s.num_bytes_memory, "num_examples": s.num_rows} for s in c.splits
            },
            "download_size": sum(s.num_bytes_parquet for s in c.splits),
            "dataset_size": sum(s.num_bytes_memory for s in c.splits),
        }

    configs = [c for c in _configs(viewed, config) if not c.error]
    if config is not None:
        return {"dataset_info": info(configs[0]) if configs else {}, "partial": False}
    failed = _failed(viewed, viewed.state.configs)
    return {"dataset_info": {c.name: info(c) for c in configs}, "pending": [], "failed": failed, "partial": False}


@router.get(f"{PREFIX}/parquet")
def get_parquet_files(
    viewer: ViewerDep, actor: ActorDep, base_url: BaseUrlDep, dataset: str | None = None, config: str | None = None
) -> dict[str, Any]:
    viewed = viewer.view(_required(dataset, "dataset"), actor)
    files = [
        {
            "dataset": viewed.repo.repo_id,
            "config": c.name,
            "split": s.name,
            "url": _parquet_url(base_url, viewed, shard.path),
            "filename": shard.path.rsplit("/", 1)[-1],
            "size": shard.size,
        }
        for c in _configs(viewed, config)
        for s in c.splits
        for shard in s.shards
    ]
    return {
        "parquet_files": files,
        "pending": [],
        "failed": _failed(viewed, _configs(viewed, config)),
        "partial": False,
    }


@router.get(f"{PREFIX}/opt-in-out-urls")
def get_opt_in_out_urls(
    viewer: ViewerDep, actor: ActorDep, dataset: str | None = None, config: str | None = None, split: str | None = None
) -> dict[str, Any]:
    """No opt-in/out registry is consulted on a self-hosted hub: every count is zero."""
    viewer.view(_required(dataset, "dataset"), actor)
    return {
        "urls_columns": [],
        "num_opt_in_urls": 0,
        "num_opt_out_urls": 0,
        "num_urls": 0,
        "num_scanned_rows": 0,
        "has_urls_columns": False,
        "full_scan": None,
    }


# --- the hub's parquet listing -------------------------------------------------------------------


def _shard_urls(base_url: str, viewed: ViewedRevision, split: SplitInfo) -> list[str]:
    return [_parquet_url(base_url, viewed, shard.path) for shard in split.shards]


@router.get("/api/datasets/{namespace}/{name}/parquet")
def list_parquet(namespace: str, name: str, viewer: ViewerDep, actor: ActorDep, base_url: BaseUrlDep) -> Any:
    viewed = viewer.view(f"{namespace}/{name}", actor)
    return {
        c.name: {s.name: _shard_urls(base_url, viewed, s) for s in c.splits}
        for c in viewed.state.configs
        if not c.error
    }


@router.get("/api/datasets/{namespace}/{name}/parquet/{config}")
def list_config_parquet(
    namespace: str, name: str, config: str, viewer: ViewerDep, actor: ActorDep, base_url: BaseUrlDep
) -> Any:
    viewed = viewer.view(f"{namespace}/{name}", actor)
    info = viewer.config(viewed, config)
    return {s.name: _shard_urls(base_url, viewed, s) for s in info.splits}


@router.get("/api/datasets/{namespace}/{name}/parquet/{config}/{split}")
def list_split_parquet(
    namespace: str, name: str, config: str, split: str, viewer: ViewerDep, actor: ActorDep, base_url: BaseUrlDep
) -> Any:
    viewed = viewer.view(f"{namespace}/{name}", actor)
    info = viewer.split(viewed, config, split)
    return _shard_urls(base_url, viewed, info)
