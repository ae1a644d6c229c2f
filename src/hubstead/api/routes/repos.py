"""Repo management and info: create, delete, move, settings, model/dataset/space info."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from hubstead.api.deps import ActorDep, BaseUrlDep, FileServiceDep, RepoServiceDep, ScanServiceDep
from hubstead.api.limits import BoundedJsonRoute, json_body
from hubstead.api.middleware import decode_param
from hubstead.api.payloads import repo_info, repo_url, security_repo_status, sibling
from hubstead.errors import InvalidInputError, RepoAlreadyExistsError
from hubstead.repos.models import RepoType
from hubstead.repos.services import RepoSettings

router = APIRouter(route_class=BoundedJsonRoute)

EXPAND = {
    RepoType.MODEL: {
        "author",
        "baseModels",
        "cardData",
        "childrenModelCount",
        "config",
        "createdAt",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "evalResults",
        "gated",
        "gguf",
        "inference",
        "inferenceProviderMapping",
        "lastModified",
        "library_name",
        "likes",
        "mask_token",
        "model-index",
        "pipeline_tag",
        "private",
        "resourceGroup",
        "safetensors",
        "securityRepoStatus",
        "sha",
        "siblings",
        "spaces",
        "tags",
        "transformersInfo",
        "trendingScore",
        "usedStorage",
        "widgetData",
        "xetEnabled",
    },
    RepoType.DATASET: {
        "author",
        "cardData",
        "citation",
        "createdAt",
        "description",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "gated",
        "lastModified",
        "likes",
        "mainSize",
        "paperswithcode_id",
        "private",
        "resourceGroup",
        "securityRepoStatus",
        "sha",
        "siblings",
        "tags",
        "trendingScore",
        "usedStorage",
        "xetEnabled",
    },
    RepoType.SPACE: {
        "author",
        "cardData",
        "createdAt",
        "datasets",
        "disabled",
        "lastModified",
        "likes",
        "models",
        "private",
        "region",
        "resourceGroup",
        "runtime",
        "sdk",
        "securityRepoStatus",
        "sha",
        "siblings",
        "subdomain",
        "tags",
        "trendingScore",
        "usedStorage",
        "xetEnabled",
    },
}


class CreateRepoBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=200)
    organization: str | None = None
    type: RepoType = RepoType.MODEL
    private: bool | None = None
    visibility: str | None = None
    sdk: str | None = None


class DeleteRepoBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    organization: str | None = None
    type: RepoType = RepoType.MODEL


class MoveRepoBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    from_repo: str = Field(alias="fromRepo")
    to_repo: str = Field(alias="toRepo")
    type: RepoType = RepoType.MODEL


class SettingsBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    private: bool | None = None
    visibility: str | None = None
    gated: str | bool | None = None
    protect_main: bool | None = Field(default=None, alias="protectMain")  # Hubstead-only: git branch protection


def _private_from(private: bool | None, visibility: str | None) -> bool | None:
    if visibility is not None:
        if visibility not in ("public", "private", "protected"):
            raise InvalidInputError("visibility must be 'public', 'private' or 'protected'")
        return visibility != "public"
    return private


def _split_name(body_name: str, organization: str | None) -> tuple[str | None, str]:
    # old clients sent "name": "ns/name"
    if "/" in body_name and organization is None:
        namespace, _, name = body_name.partition("/")
        return namespace, name
    return organization, body_name


@router.post("/api/repos/create")
def create_repo(
    body: Annotated[CreateRepoBody, json_body(CreateRepoBody)],
    repos: RepoServiceDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
) -> dict[str, Any]:
    namespace, name = _split_name(body.name, body.organization)
    try:
        repo = repos.create_repo(
            actor, body.type, name, namespace, _private_from(body.private, body.visibility), body.sdk
        )
    except RepoAlreadyExistsError as exc:
        exc.extra["url"] = f"{base_url}/{body.type.url_prefix}{exc.extra.get('repo_id')}"
        raise
    return {"url": repo_url(base_url, repo), "name": repo.repo_id, "id": f"{repo.id:024x}"}


@router.delete("/api/repos/delete")
def delete_repo(
    body: Annotated[DeleteRepoBody, json_body(DeleteRepoBody)], repos: RepoServiceDep, actor: ActorDep
) -> dict[str, Any]:
    namespace, name = _split_name(body.name, body.organization)
    namespace = namespace or (actor.account.name if actor.account else "")
    repos.delete_repo(actor, body.type, f"{namespace}/{name}")
    return {}


@router.post("/api/repos/move")
def move_repo(
    body: Annotated[MoveRepoBody, json_body(MoveRepoBody)], repos: RepoServiceDep, actor: ActorDep, base_url: BaseUrlDep
) -> dict[str, Any]:
    repo = repos.move_repo(actor, body.type, body.from_repo, body.to_repo)
    return {"url": repo_url(base_url, repo)}


@router.put("/api/{repo_type:repotypes}/{namespace}/{name}/settings")
def update_repo_settings(
    repo_type: RepoType,
    namespace: str,
    name: str,
    body: Annotated[SettingsBody, json_body(SettingsBody)],
    repos: RepoServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    settings = RepoSettings(
        private=_private_from(body.private, body.visibility), gated=body.gated, protect_main=body.protect_main
    )
    repo = repos.update_settings(actor, repo_type, f"{namespace}/{name}", settings)
    return {"private": repo.private, "gated": repo.gated or False, "protectMain": repo.protect_main}


@router.get("/api/{repo_type:repotypes}/{namespace}/{name}")
def get_repo_info(
    repo_type: RepoType,
    namespace: str,
    name: str,
    repos: RepoServiceDep,
    files: FileServiceDep,
    scans: ScanServiceDep,
    actor: ActorDep,
    blobs: bool = False,
    security_status: bool = Query(default=False, alias="securityStatus"),
    expand: list[str] | None = Query(default=None),
) -> dict[str, Any]:
    wanted = _expand(repo_type, expand, security_status)
    return _info(repo_type, f"{namespace}/{name}", "main", repos, files, scans, actor, blobs, wanted)


@router.get("/api/{repo_type:repotypes}/{namespace}/{name}/revision/{revision:path}")
def get_repo_info_at_revision(
    repo_type: RepoType,
    namespace: str,
    name: str,
    revision: str,
    repos: RepoServiceDep,
    files: FileServiceDep,
    scans: ScanServiceDep,
    actor: ActorDep,
    blobs: bool = False,
    security_status: bool = Query(default=False, alias="securityStatus"),
    expand: list[str] | None = Query(default=None),
) -> dict[str, Any]:
    wanted = _expand(repo_type, expand, security_status)
    revision = decode_param(revision)
    return _info(repo_type, f"{namespace}/{name}", revision, repos, files, scans, actor, blobs, wanted)


@router.get("/api/{repo_type:repotypes}/{namespace}/{name}/scan")
def get_repo_scan_status(
    repo_type: RepoType,
    namespace: str,
    name: str,
    repos: RepoServiceDep,
    files: FileServiceDep,
    scans: ScanServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    """The scan status of the default branch: ``{"scansDone", "filesWithIssues": [{"path", "level"}]}``."""
    repo = repos.get_repo(repo_type, f"{namespace}/{name}", actor)
    git, sha = files.resolve(repo, "main")
    return security_repo_status(scans.revision_status(repo, git, sha))


def _expand(repo_type: RepoType, expand: list[str] | None, security_status: bool) -> tuple[set[str], bool]:
    """The expand values asked for (checked), and whether the security status is wanted: through
    ``securityStatus=true`` (added to the usual fields, as huggingface_hub asks) or ``expand=securityRepoStatus``."""
    wanted = {v for item in (expand or []) for v in item.split(",") if v}
    unknown = wanted - EXPAND[repo_type]
    if unknown:
        raise InvalidInputError(f"Invalid expand value(s): {', '.join(sorted(unknown))}")
    return wanted, security_status or "securityRepoStatus" in wanted


def _info(
    repo_type: RepoType,
    repo_id: str,
    revision: str,
    repos: RepoServiceDep,
    files: FileServiceDep,
    scans: ScanServiceDep,
    actor: ActorDep,
    blobs: bool,
    expand: tuple[set[str], bool],
) -> dict[str, Any]:
    wanted, security = expand
    repo = repos.get_repo(repo_type, repo_id, actor)
    git, sha = files.resolve(repo, revision)
    siblings = None
    entries = files.all_files(git, sha) if not wanted or "siblings" in wanted or security else []
    if not wanted or "siblings" in wanted:
        siblings = [sibling(e, blobs) for e in entries]
    info = repo_info(repo, sha, siblings, git.commit_meta(sha).date)
    if security:
        info["securityRepoStatus"] = security_repo_status(scans.revision_status(repo, git, sha, entries))
    if not wanted:
        return info
    return {k: v for k, v in info.items() if k in wanted or k in ("id", "_id")}


@router.get("/api/{repo_type:repotypes}/{namespace}/{name}/auth-check")
def auth_check(
    repo_type: RepoType, namespace: str, name: str, repos: RepoServiceDep, actor: ActorDep
) -> dict[str, Any]:
    """``HfApi.auth_check``: 200 if the caller may download the repo's files, else the error a download gets
    (RepoNotFound for a repo it may not see, GatedRepo without a grant)."""
    repos.get_repo_for_download(repo_type, f"{namespace}/{name}", actor, light=True)
    return {}


@router.get("/api/{repo_type:repotypes}/{namespace}/{name}/auth-check/write")
def auth_check_write(
    repo_type: RepoType, namespace: str, name: str, repos: RepoServiceDep, actor: ActorDep
) -> dict[str, Any]:
    """``HfApi.auth_check(write=True)``: 200 if the caller may commit to the repo's default branch."""
    repos.get_repo_for_write(repo_type, f"{namespace}/{name}", actor)
    return {}
