"""Writing: preupload, the NDJSON commit endpoint, and card validation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from starlette.responses import JSONResponse, Response

from hubstead.api.bodies import SpooledBody, iter_chunks
from hubstead.api.deps import ActorDep, BaseUrlDep, CommitServiceDep, RepoServiceDep
from hubstead.api.middleware import decode_param
from hubstead.api.payloads import repo_url
from hubstead.errors import InvalidInputError
from hubstead.repos.cards import check_card
from hubstead.repos.commits import iter_lines
from hubstead.repos.models import RepoType

router = APIRouter()


@router.post("/api/{repo_type:repotypes}/{namespace}/{name}/preupload/{revision}")
def preupload_files(
    repo_type: RepoType,
    namespace: str,
    name: str,
    revision: str,
    body: dict[str, Any],
    repos: RepoServiceDep,
    commits: CommitServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    repo = repos.get_repo_for_contribution(repo_type, f"{namespace}/{name}", actor)
    return {"files": commits.preupload(repo, decode_param(revision), body)}


@router.post("/api/{repo_type:repotypes}/{namespace}/{name}/commit/{revision}")
def create_commit(
    repo_type: RepoType,
    namespace: str,
    name: str,
    revision: str,
    body: SpooledBody,
    repos: RepoServiceDep,
    commits: CommitServiceDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
    create_pr: str | None = None,
) -> dict[str, Any]:
    repo = repos.get_repo_for_commit(repo_type, f"{namespace}/{name}", actor, decode_param(revision))
    if create_pr and create_pr.lower() not in ("0", "false"):
        raise InvalidInputError("Pull requests are not supported by this hub yet: commit to a branch instead")
    result = commits.commit(repo, actor, decode_param(revision), iter_lines(iter_chunks(body)))
    return {
        "success": True,
        "commitOid": result.sha,
        "commitUrl": f"{repo_url(base_url, repo)}/commit/{result.sha}",
        "hookOutput": "",
    }


class ValidateYamlBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    content: str
    repoType: RepoType = RepoType.MODEL


@router.post("/api/validate-yaml")
def validate_yaml(body: ValidateYamlBody) -> Response:
    result = check_card(body.content, body.repoType.value)
    payload = {"errors": [{"message": m} for m in result.errors], "warnings": [{"message": m} for m in result.warnings]}
    return JSONResponse(payload, status_code=400 if result.errors else 200)
