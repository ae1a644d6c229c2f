"""Listing and searching: ``GET /api/models``, ``/api/datasets``, ``/api/spaces``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from hubstead.api.deps import ActorDep, BaseUrlDep, FileServiceDep, HubDep, SearchServiceDep
from hubstead.api.limits import BoundedJsonRoute
from hubstead.api.payloads import repo_info, repo_summary, sibling
from hubstead.api.routes.repos import EXPAND
from hubstead.errors import InvalidInputError
from hubstead.numbers import parse_decimal
from hubstead.repos.files import FileService
from hubstead.repos.models import Repo, RepoType
from hubstead.repos.search import RepoQuery

router = APIRouter(route_class=BoundedJsonRoute)
TRUE = frozenset({"1", "true", "yes", "on"})


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in TRUE


def _query(request: Request, repo_type: RepoType, page_size: int) -> RepoQuery:
    params = request.query_params
    tags = [v for v in params.getlist("filter") if v]
    for name, prefix in (("library", ""), ("language", ""), ("license", "license:")):
        tags += [f"{prefix}{v}" for v in params.getlist(name) if v]
    direction = params.get("direction")
    if direction not in (None, "", "-1", "1"):
        raise InvalidInputError("direction must be -1 (descending) or 1 (ascending)")
    limit_text = params.get("limit") or str(page_size)
    if parse_decimal(limit_text) is None:
        raise InvalidInputError("limit must be a positive integer")
    gated = params.get("gated")
    return RepoQuery(
        repo_type=repo_type,
        search=params.getlist("search"),
        author=params.get("author") or None,
        tags=tags,
        pipeline_tag=params.get("pipeline_tag") or None,
        gated=None if gated is None else gated.lower() in TRUE,
        sort=params.get("sort") or None,
        ascending=direction == "1",
        limit=min(int(limit_text), page_size),
        cursor=params.get("cursor") or None,
    )


def _expand(request: Request, repo_type: RepoType) -> set[str]:
    values = request.query_params.getlist("expand") + request.query_params.getlist("expand[]")
    wanted = {v for item in values for v in item.split(",") if v}
    unknown = wanted - EXPAND[repo_type]
    if unknown:
        raise InvalidInputError(f"Invalid expand value(s): {', '.join(sorted(unknown))}")
    return wanted


def _item(repo: Repo, files: FileService, full: bool, card: bool, config: bool, wanted: set[str]) -> dict[str, Any]:
    if not (full or wanted or card or config):
        return repo_summary(repo)
    git = files.repos.open_git(repo)
    sha = repo.head_sha or git.resolve("main")
    siblings = [sibling(e, False) for e in files.all_files(git, sha)] if full or "siblings" in wanted else None
    item = repo_info(repo, sha, siblings, repo.last_modified)
    if wanted:
        return {k: v for k, v in item.items() if k in wanted or k in ("id", "_id")}
    if not full:
        item = repo_summary(repo) | {k: item[k] for k in ("cardData", "config") if k in item}
    if not card:
        item.pop("cardData", None)
    if not config:
        item.pop("config", None)
    return item


def _list(
    request: Request,
    repo_type: RepoType,
    search: SearchServiceDep,
    files: FileServiceDep,
    actor: ActorDep,
    base_url: str,
    page_size: int,
) -> Response:
    wanted = _expand(request, repo_type)
    page = search.list_repos(_query(request, repo_type, page_size), actor)
    full, card, config = _flag(request, "full"), _flag(request, "cardData"), _flag(request, "config")
    body = [_item(repo, files, full, card or full, config, wanted) for repo in page.repos]
    headers = {}
    if page.next_cursor:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        query.append(("cursor", page.next_cursor))
        headers["Link"] = f'<{base_url}{request.url.path}?{urlencode(query)}>; rel="next"'
    return JSONResponse(body, headers=headers)


@router.get("/api/models")
def list_models(
    request: Request,
    search: SearchServiceDep,
    files: FileServiceDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
    hub: HubDep,
) -> Response:
    return _list(request, RepoType.MODEL, search, files, actor, base_url, hub.settings.list_page_size)


@router.get("/api/datasets")
def list_datasets(
    request: Request,
    search: SearchServiceDep,
    files: FileServiceDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
    hub: HubDep,
) -> Response:
    return _list(request, RepoType.DATASET, search, files, actor, base_url, hub.settings.list_page_size)


@router.get("/api/spaces")
def list_spaces(
    request: Request,
    search: SearchServiceDep,
    files: FileServiceDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
    hub: HubDep,
) -> Response:
    return _list(request, RepoType.SPACE, search, files, actor, base_url, hub.settings.list_page_size)
