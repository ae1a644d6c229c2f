"""Writing: preupload, the NDJSON commit endpoint, and card validation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import JSONResponse, PlainTextResponse, Response

from hubstead.api.bodies import SpooledBody, iter_chunks
from hubstead.api.deps import (
    ActorDep,
    BaseUrlDep,
    CommitServiceDep,
    DiscussionServiceDep,
    HubDep,
    RepoServiceDep,
    ScanServiceDep,
    SessionDep,
    run_and_commit,
)
from hubstead.api.limits import BoundedJsonRoute, json_body, json_value
from hubstead.api.middleware import decode_param
from hubstead.api.payloads import repo_url
from hubstead.datasets.tasks import request_conversion
from hubstead.discussions.models import Discussion
from hubstead.discussions.services import pr_number
from hubstead.repos.cards import check_card
from hubstead.repos.commits import iter_lines
from hubstead.repos.models import Repo, RepoType

router = APIRouter(route_class=BoundedJsonRoute)
MAX_PREUPLOAD_BODY = 8 * 1024 * 1024  # 1,000 paths (up to 1,024 characters each, JSON-escaped) with their samples
MAX_CARD_BODY = 8 * 1024 * 1024  # a card, as long as the website lets one be edited


@router.post("/api/{repo_type:repotypes}/{namespace}/{name}/preupload/{revision}")
def preupload_files(
    repo_type: RepoType,
    namespace: str,
    name: str,
    revision: str,
    body: Annotated[Any, json_value(MAX_PREUPLOAD_BODY)],
    repos: RepoServiceDep,
    commits: CommitServiceDep,
    discussions: DiscussionServiceDep,
    actor: ActorDep,
    create_pr: str | None = None,
) -> dict[str, Any]:
    repo_id, revision = f"{namespace}/{name}", decode_param(revision)
    if _flag(create_pr):  # the revision is the base of a pull request: readers may open one
        repo = discussions.get_repo_for_discussion(repo_type, repo_id, actor)
    elif pr_number(revision) is not None:
        repo, _ = discussions.get_pull_request_for_push(repo_type, repo_id, actor, revision)
    else:
        repo = repos.get_repo_for_contribution(repo_type, repo_id, actor)
    return {"files": commits.preupload(repo, revision, body)}


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() not in ("", "0", "false")


@router.post("/api/{repo_type:repotypes}/{namespace}/{name}/commit/{revision}")
async def create_commit(
    repo_type: RepoType,
    namespace: str,
    name: str,
    revision: str,
    body: SpooledBody,
    session: SessionDep,
    repos: RepoServiceDep,
    commits: CommitServiceDep,
    discussions: DiscussionServiceDep,
    scans: ScanServiceDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
    hub: HubDep,
    create_pr: str | None = None,
) -> dict[str, Any]:
    repo_id, revision = f"{namespace}/{name}", decode_param(revision)
    lines = iter_lines(iter_chunks(body), commits.max_line_bytes)

    def commit() -> tuple[Repo, str, Discussion | None]:
        pull_request = None
        if _flag(create_pr):  # open a pull request onto ``revision`` holding this commit
            repo = discussions.get_repo_for_discussion(repo_type, repo_id, actor)
            pull_request, sha = discussions.commit_pull_request(
                repo, actor, revision, lambda ref: commits.commit(repo, actor, ref, lines).sha
            )
        elif pr_number(revision) is not None:  # refs/pr/N: its author's or a maintainer's
            repo, pull_request = discussions.get_pull_request_for_push(repo_type, repo_id, actor, revision)
            sha = commits.commit(repo, actor, revision, lines).sha
            discussions.record_commit(repo, pull_request, actor, sha)
        else:
            repo = repos.get_repo_for_commit(repo_type, repo_id, actor, revision)
            sha = commits.commit(repo, actor, revision, lines).sha
        scans.request_scan(repo.id, sha)  # a job, queued in this unit of work
        request_conversion(hub.jobs, hub.settings, session, repo, sha)  # a dataset's main branch: to parquet
        return repo, sha, pull_request

    repo, sha, pull_request = await run_and_commit(session, commit)
    out: dict[str, Any] = {
        "success": True,
        "commitOid": sha,
        "commitUrl": f"{repo_url(base_url, repo)}/commit/{sha}",
        "hookOutput": "",
    }
    if pull_request is not None:
        out["pullRequestUrl"] = f"{repo_url(base_url, repo)}/discussions/{pull_request.num}"
    return out


class ValidateYamlBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    content: str
    repoType: RepoType = RepoType.MODEL


@router.post("/api/validate-yaml")
def validate_yaml(
    request: Request, body: Annotated[ValidateYamlBody, json_body(ValidateYamlBody, MAX_CARD_BODY)]
) -> Response:
    """Errors (400) and warnings of a card's metadata, as JSON, or as lines of text for ``Accept: text/plain``
    (``RepoCard.validate`` asks so, and shows the text in its ValueError)."""
    result = check_card(body.content, body.repoType.value)
    status = 400 if result.errors else 200
    if "text/plain" in request.headers.get("accept", ""):
        return PlainTextResponse("\n".join(result.errors or result.warnings), status_code=status)
    payload = {"errors": [{"message": m} for m in result.errors], "warnings": [{"message": m} for m in result.warnings]}
    return JSONResponse(payload, status_code=status)
