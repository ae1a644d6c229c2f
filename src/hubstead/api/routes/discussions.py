"""Discussions and pull requests: huggingface.co's URLs and JSON, as ``HfApi.get_repo_discussions``,
``get_discussion_details``, ``create_discussion``/``create_pull_request``, ``comment_discussion``,
``edit_discussion_comment``, ``hide_discussion_comment``, ``rename_discussion``, ``change_discussion_status``
and ``merge_pull_request`` call and parse them."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from hubstead.api.deps import ActorDep, DiscussionServiceDep
from hubstead.api.limits import BoundedJsonRoute, json_body
from hubstead.api.payloads import iso
from hubstead.discussions.models import Discussion, DiscussionEvent, EventType
from hubstead.discussions.services import DiscussionService, parse_stamp
from hubstead.errors import InvalidInputError
from hubstead.numbers import parse_decimal
from hubstead.repos.models import Repo, RepoType

router = APIRouter(route_class=BoundedJsonRoute)

PREFIX = "/api/{repo_type:repotypes}/{namespace}/{name}/discussions"
MAX_NUM_DIGITS = 9
MAX_DISCUSSION_BODY = 1024 * 1024  # a comment of MAX_COMMENT characters, however JSON escapes them


class CreateDiscussionBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: Any = None  # checked by the service, for our error shape
    description: Any = None
    pullRequest: bool = False


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    comment: Any = None


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: Any = None
    comment: Any = None


class TitleBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: Any = None


class EditCommentBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    content: Any = None


def _num(value: str) -> int:
    number = parse_decimal(value, MAX_NUM_DIGITS)
    if number is None or number < 1:
        raise InvalidInputError(f"Invalid discussion number: {value[:20]!r} (a positive integer)")
    return number


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() not in ("", "0", "false")


# --- wire shapes ------------------------------------------------------------------------------------


def _author(names: dict[int, str], account_id: int | None) -> dict[str, Any]:
    name = names.get(account_id) if account_id is not None else None
    return {"author": {"name": name, "type": "user"}} if name else {}  # no author: the client shows "deleted"


def discussion_summary(discussion: Discussion, repo: Repo, names: dict[int, str], comments: int = 0) -> dict[str, Any]:
    return {
        "num": discussion.num,
        "title": discussion.title,
        "status": discussion.status.value,
        "createdAt": iso(discussion.created_at),
        "isPullRequest": discussion.is_pull_request,
        "repo": {"name": repo.repo_id, "type": repo.type.value},
        "numComments": comments,
        "pinned": False,
        "topReactions": [],
    } | _author(names, discussion.author_id)


def _version(version: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    raw = str(version.get("raw", ""))
    html_text = f"<p>{html.escape(raw)}</p>" if raw else ""
    out = {"raw": raw, "html": html_text, "updatedAt": iso(parse_stamp(str(version["updatedAt"])))}
    return out | _author(names, version.get("author"))


def event_payload(event: DiscussionEvent, names: dict[int, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f"{event.id:024x}",
        "type": event.type.value,
        "createdAt": iso(event.created_at),
    } | _author(names, event.author_id)
    if event.type is EventType.COMMENT:
        history = [_version(v, names) for v in event.data.get("history", [])]
        out["data"] = {
            "edited": len(history) > 1,
            "hidden": event.hidden,
            "latest": history[0],
            "numEdits": len(history) - 1,
            "editors": sorted({v["author"]["name"] for v in history if "author" in v}),
            "reactions": [],
            "history": history,
        }
    else:
        out["data"] = dict(event.data)
    return out


def _names_of_events(
    discussions: DiscussionService, events: list[DiscussionEvent], extra: int | None
) -> dict[int, str]:
    ids: set[int | None] = {extra}
    for event in events:
        ids.add(event.author_id)
        ids.update(v.get("author") for v in event.data.get("history", []))
    return discussions.account_names(ids)


# --- routes --------------------------------------------------------------------------------------------


@router.get(PREFIX)
def list_repo_discussions(
    repo_type: RepoType,
    namespace: str,
    name: str,
    discussions: DiscussionServiceDep,
    actor: ActorDep,
    p: str = "0",
    type: str | None = None,
    status: str | None = None,
    author: str | None = None,
) -> dict[str, Any]:
    repo = discussions.get_repo(repo_type, f"{namespace}/{name}", actor)
    page_number = parse_decimal(p, MAX_NUM_DIGITS)
    if page_number is None:
        raise InvalidInputError("'p' must be a non-negative integer")
    page = discussions.list_discussions(repo, page_number, author=author, kind=type, status=status)
    names = discussions.account_names(d.author_id for d in page.items)
    counts = discussions.comment_counts(page.items)
    return {
        "discussions": [discussion_summary(d, repo, names, counts.get(d.id, 0)) for d in page.items],
        "count": page.total,
        "start": page.start,
        "numClosedDiscussions": None,
    }


@router.post(PREFIX)
def create_discussion(
    repo_type: RepoType,
    namespace: str,
    name: str,
    body: Annotated[CreateDiscussionBody, json_body(CreateDiscussionBody, MAX_DISCUSSION_BODY)],
    discussions: DiscussionServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    repo = discussions.get_repo(repo_type, f"{namespace}/{name}", actor)
    discussion = discussions.create_discussion(repo, actor, body.title, body.description, body.pullRequest)
    return discussion_summary(discussion, repo, discussions.account_names([discussion.author_id]))


@router.get(PREFIX + "/{num}")
def get_discussion_details(
    repo_type: RepoType,
    namespace: str,
    name: str,
    num: str,
    discussions: DiscussionServiceDep,
    actor: ActorDep,
    diff: str | None = None,
) -> dict[str, Any]:
    repo = discussions.get_repo(repo_type, f"{namespace}/{name}", actor)
    discussion = discussions.get_discussion(repo, _num(num))
    events = discussions.list_events(discussion)
    names = _names_of_events(discussions, events, discussion.author_id)
    comments = sum(1 for e in events if e.type is EventType.COMMENT)
    out = discussion_summary(discussion, repo, names, comments) | {
        "events": [event_payload(e, names) for e in events],
        "isReport": False,
        "locked": False,
    }
    if discussion.is_pull_request:
        state = discussions.pull_request_state(
            repo, discussion, with_diff=_flag(diff) and discussions.may_read_files(repo, actor)
        )
        changes: dict[str, Any] = {"base": discussion.target_branch}
        if discussion.merge_commit_oid:
            changes["mergeCommitId"] = discussion.merge_commit_oid
        out |= {"changes": changes, "filesWithConflicts": state.conflicts, "gitReference": discussion.git_ref}
        if state.diff is not None:
            out["diff"] = state.diff
    return out


def _event_answer(discussions: DiscussionService, key: str, event: DiscussionEvent) -> dict[str, Any]:
    return {key: event_payload(event, _names_of_events(discussions, [event], None))}


@router.post(PREFIX + "/{num}/comment")
def comment_discussion(
    repo_type: RepoType,
    namespace: str,
    name: str,
    num: str,
    body: Annotated[CommentBody, json_body(CommentBody, MAX_DISCUSSION_BODY)],
    discussions: DiscussionServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    repo = discussions.get_repo(repo_type, f"{namespace}/{name}", actor)
    event = discussions.add_comment(repo, actor, _num(num), body.comment)
    return _event_answer(discussions, "newMessage", event)


@router.post(PREFIX + "/{num}/status")
def change_discussion_status(
    repo_type: RepoType,
    namespace: str,
    name: str,
    num: str,
    body: Annotated[StatusBody, json_body(StatusBody, MAX_DISCUSSION_BODY)],
    discussions: DiscussionServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    repo = discussions.get_repo(repo_type, f"{namespace}/{name}", actor)
    event = discussions.change_status(repo, actor, _num(num), body.status, body.comment)
    return _event_answer(discussions, "newStatus", event)


@router.post(PREFIX + "/{num}/title")
def rename_discussion(
    repo_type: RepoType,
    namespace: str,
    name: str,
    num: str,
    body: Annotated[TitleBody, json_body(TitleBody, MAX_DISCUSSION_BODY)],
    discussions: DiscussionServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    repo = discussions.get_repo(repo_type, f"{namespace}/{name}", actor)
    event = discussions.rename(repo, actor, _num(num), body.title)
    return _event_answer(discussions, "newTitle", event)


@router.post(PREFIX + "/{num}/merge")
def merge_pull_request(
    repo_type: RepoType,
    namespace: str,
    name: str,
    num: str,
    discussions: DiscussionServiceDep,
    actor: ActorDep,
    body: Annotated[CommentBody, json_body(CommentBody, MAX_DISCUSSION_BODY)],
) -> dict[str, Any]:
    repo = discussions.get_repo(repo_type, f"{namespace}/{name}", actor)
    sha = discussions.merge(repo, actor, _num(num), body.comment)
    return {"mergeCommitId": sha}


@router.post(PREFIX + "/{num}/comment/{comment_id}/edit")
def edit_discussion_comment(
    repo_type: RepoType,
    namespace: str,
    name: str,
    num: str,
    comment_id: str,
    body: Annotated[EditCommentBody, json_body(EditCommentBody, MAX_DISCUSSION_BODY)],
    discussions: DiscussionServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    repo = discussions.get_repo(repo_type, f"{namespace}/{name}", actor)
    event = discussions.edit_comment(repo, actor, _num(num), comment_id, body.content)
    return _event_answer(discussions, "updatedComment", event)


@router.post(PREFIX + "/{num}/comment/{comment_id}/hide")
def hide_discussion_comment(
    repo_type: RepoType,
    namespace: str,
    name: str,
    num: str,
    comment_id: str,
    discussions: DiscussionServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    repo = discussions.get_repo(repo_type, f"{namespace}/{name}", actor)
    event = discussions.hide_comment(repo, actor, _num(num), comment_id)
    return _event_answer(discussions, "updatedComment", event)
