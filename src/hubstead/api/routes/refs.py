"""Refs and history: list refs, list commits, create and delete branches and tags."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from hubstead.api.deps import ActorDep, BaseUrlDep, FileServiceDep, HubDep, RepoServiceDep
from hubstead.api.limits import BoundedJsonRoute, json_body
from hubstead.api.middleware import decode_param
from hubstead.api.payloads import commit_item
from hubstead.errors import InvalidInputError
from hubstead.numbers import parse_decimal
from hubstead.repos.files import MAX_TAG_MESSAGE
from hubstead.repos.models import RepoType
from hubstead.repos.services import author_email

router = APIRouter(route_class=BoundedJsonRoute)


def _refs(refs: dict[str, str], prefix: str) -> list[dict[str, str]]:
    return [{"name": n, "ref": f"{prefix}{n}", "targetCommit": sha} for n, sha in sorted(refs.items())]


@router.get("/api/{repo_type:repotypes}/{namespace}/{name}/refs")
def list_repo_refs(
    repo_type: RepoType,
    namespace: str,
    name: str,
    repos: RepoServiceDep,
    files: FileServiceDep,
    actor: ActorDep,
    include_prs: str | None = None,
) -> dict[str, Any]:
    repo = repos.get_repo(repo_type, f"{namespace}/{name}", actor)
    refs = files.list_refs(repo)
    out = {
        "branches": _refs(refs.branches, "refs/heads/"),
        "converts": _refs(refs.converts, "refs/convert/"),
        "tags": _refs(refs.tags, "refs/tags/"),
    }
    if include_prs and include_prs.lower() not in ("0", "false"):
        out["pullRequests"] = _refs(refs.pulls, "refs/pr/")
    return out


@router.get("/api/{repo_type:repotypes}/{namespace}/{name}/commits/{revision}")
def list_repo_commits(
    request: Request,
    repo_type: RepoType,
    namespace: str,
    name: str,
    revision: str,
    repos: RepoServiceDep,
    files: FileServiceDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
    hub: HubDep,
) -> Response:
    params = request.query_params
    page_text, limit_text = params.get("p", "0"), params.get("limit", str(hub.settings.commits_page_size))
    page, limit = parse_decimal(page_text, 9), parse_decimal(limit_text)
    if page is None or limit is None or limit < 1:
        raise InvalidInputError("'p' and 'limit' must be non-negative integers")
    limit = min(limit, 1000)
    repo = repos.get_repo(repo_type, f"{namespace}/{name}", actor)
    commits, total = files.list_commits(repo, decode_param(revision), page * limit, limit)
    headers = {"X-Total-Count": str(total)}
    if (page + 1) * limit < total:
        query = [(k, v) for k, v in params.multi_items() if k != "p"] + [("p", str(page + 1))]
        headers["Link"] = f'<{base_url}{request.url.path}?{urlencode(query)}>; rel="next"'
    formatted = "formatted" in params.getlist("expand[]") + params.getlist("expand")
    repo_url = f"{base_url}/{repo.type.url_prefix}{repo.repo_id}" if formatted else None
    return JSONResponse([commit_item(c, repo_url) for c in commits], headers=headers)


class BranchBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    startingPoint: str | None = None


@router.post("/api/{repo_type:repotypes}/{namespace}/{name}/branch/{branch:path}")
def create_branch(
    repo_type: RepoType,
    namespace: str,
    name: str,
    branch: str,
    repos: RepoServiceDep,
    files: FileServiceDep,
    actor: ActorDep,
    body: Annotated[BranchBody, json_body(BranchBody)],
) -> dict[str, Any]:
    repo = repos.get_repo_for_contribution(repo_type, f"{namespace}/{name}", actor)
    files.create_branch(repo, decode_param(branch), body.startingPoint)
    return {}


@router.delete("/api/{repo_type:repotypes}/{namespace}/{name}/branch/{branch:path}")
def delete_branch(
    repo_type: RepoType,
    namespace: str,
    name: str,
    branch: str,
    repos: RepoServiceDep,
    files: FileServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    repo = repos.get_repo_for_write(repo_type, f"{namespace}/{name}", actor)
    files.delete_branch(repo, decode_param(branch))
    return {}


MAX_TAG_BODY = 1024 * 1024  # a tag message as long as a commit description, however JSON escapes it


class TagBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tag: str = Field(min_length=1, max_length=200)
    message: str | None = None


class SquashBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    message: str = Field(default="Super-squash", max_length=MAX_TAG_MESSAGE)


@router.post("/api/{repo_type:repotypes}/{namespace}/{name}/super-squash/{branch:path}")
def super_squash(
    repo_type: RepoType,
    namespace: str,
    name: str,
    branch: str,
    body: Annotated[SquashBody, json_body(SquashBody, MAX_TAG_BODY)],
    repos: RepoServiceDep,
    files: FileServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    branch = decode_param(branch)
    repo = repos.get_repo_for_commit(repo_type, f"{namespace}/{name}", actor, branch)
    assert actor.account is not None
    sha = files.super_squash(repo, branch, body.message, (actor.account.name, author_email(actor.account)))
    return {"commitId": sha}


@router.post("/api/{repo_type:repotypes}/{namespace}/{name}/tag/{revision:path}")
def create_tag(
    repo_type: RepoType,
    namespace: str,
    name: str,
    revision: str,
    body: Annotated[TagBody, json_body(TagBody, MAX_TAG_BODY)],
    repos: RepoServiceDep,
    files: FileServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    repo = repos.get_repo_for_write(repo_type, f"{namespace}/{name}", actor)
    assert actor.account is not None
    files.create_tag(
        repo, decode_param(revision), body.tag, body.message, (actor.account.name, author_email(actor.account))
    )
    return {}


@router.delete("/api/{repo_type:repotypes}/{namespace}/{name}/tag/{tag:path}")
def delete_tag(
    repo_type: RepoType,
    namespace: str,
    name: str,
    tag: str,
    repos: RepoServiceDep,
    files: FileServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    repo = repos.get_repo_for_write(repo_type, f"{namespace}/{name}", actor)
    files.delete_tag(repo, decode_param(tag))
    return {}
