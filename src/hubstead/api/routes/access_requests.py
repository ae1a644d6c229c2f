"""Gated repos: asking for access, and the access-request API of huggingface.co that ``HfApi`` speaks
(``list_pending_access_requests``, ``accept_access_request``, ``reject_access_request``,
``cancel_access_request``, ``grant_access``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from hubstead.api.deps import ActorDep, BaseUrlDep, HubDep, RepoServiceDep
from hubstead.api.limits import BoundedJsonRoute, json_body, row_id
from hubstead.api.payloads import iso
from hubstead.errors import AccessRequestNotFoundError, InvalidInputError
from hubstead.numbers import parse_decimal
from hubstead.repos.gating import AccessRequestService
from hubstead.repos.models import AccessRequestStatus, RepoType

router = APIRouter(route_class=BoundedJsonRoute)
PREFIX = "/api/{repo_type:repotypes}/{namespace}/{name}"


async def get_access_requests(repos: RepoServiceDep) -> AccessRequestService:
    return AccessRequestService(repos)


AccessRequestsDep = Annotated[AccessRequestService, Depends(get_access_requests)]


class AskAccessBody(BaseModel):
    model_config = ConfigDict(extra="allow")  # the gate form's custom fields


class HandleBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    user: str | None = Field(default=None, max_length=200)
    request_id: str | None = Field(default=None, alias="requestId", max_length=40)
    status: AccessRequestStatus
    rejection_reason: str | None = Field(default=None, alias="rejectionReason")


class GrantBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    user: str = Field(min_length=1, max_length=200)


def _status(text: str) -> AccessRequestStatus:
    try:
        return AccessRequestStatus(text)
    except ValueError:
        raise InvalidInputError("The status must be 'pending', 'accepted' or 'rejected'") from None


def _cursor(text: str | None) -> int | None:
    if text is None:
        return None
    cursor = parse_decimal(text, 10)
    if cursor is None:
        raise InvalidInputError("cursor must be the id of a request (from the Link header)")
    return cursor


def _request_pk(text: str) -> int:
    """A request id; an invalid one is 0, which names no request (checked after the repo's visibility)."""
    try:
        return row_id(text, AccessRequestNotFoundError)
    except AccessRequestNotFoundError:
        return 0


@router.post(PREFIX + "/ask-access")
def ask_access(
    repo_type: RepoType,
    namespace: str,
    name: str,
    body: Annotated[AskAccessBody, json_body(AskAccessBody)],
    requests: AccessRequestsDep,
    actor: ActorDep,
) -> dict[str, Any]:
    fields = body.model_extra or None
    request = requests.ask_access(actor, repo_type, f"{namespace}/{name}", fields)
    return {"status": request.status.value}


@router.get(PREFIX + "/user-access-request/{status}")
def list_access_requests(
    repo_type: RepoType,
    namespace: str,
    name: str,
    status: str,
    request: Request,
    requests: AccessRequestsDep,
    actor: ActorDep,
    hub: HubDep,
    base_url: BaseUrlDep,
    cursor: str | None = None,
) -> Response:
    """One page of requests, oldest first; the next page's URL is in the ``Link`` header, which ``HfApi``
    follows (``rel="next"``)."""
    wanted, after = _status(status), _cursor(cursor)
    page_size = hub.settings.list_page_size
    found = requests.list_requests(actor, repo_type, f"{namespace}/{name}", wanted, after=after, limit=page_size + 1)
    headers = {}
    if len(found) > page_size:
        found = found[:page_size]
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        query.append(("cursor", str(found[-1][0].id)))
        headers["Link"] = f'<{base_url}{request.url.path}?{urlencode(query)}>; rel="next"'
    body = [
        {
            "user": {"user": user.name, "fullname": user.fullname, "email": user.email, "type": "user"},
            "requestId": str(access_request.id),
            "status": access_request.status.value,
            "timestamp": iso(access_request.updated_at),
            "fields": access_request.fields,
            "rejectionReason": access_request.rejection_reason,
        }
        for access_request, user in found
    ]
    return JSONResponse(body, headers=headers)


@router.post(PREFIX + "/user-access-request/handle")
def handle_access_request(
    repo_type: RepoType,
    namespace: str,
    name: str,
    body: Annotated[HandleBody, json_body(HandleBody)],
    requests: AccessRequestsDep,
    actor: ActorDep,
) -> dict[str, Any]:
    if (body.user is None) == (body.request_id is None):
        raise InvalidInputError("Give exactly one of 'user' and 'requestId'")
    who: str | int = body.user if body.user is not None else _request_pk(body.request_id or "")
    requests.handle_request(actor, repo_type, f"{namespace}/{name}", who, body.status, body.rejection_reason)
    return {}


@router.post(PREFIX + "/user-access-request/grant")
def grant_access(
    repo_type: RepoType,
    namespace: str,
    name: str,
    body: Annotated[GrantBody, json_body(GrantBody)],
    requests: AccessRequestsDep,
    actor: ActorDep,
) -> dict[str, Any]:
    requests.grant_access(actor, repo_type, f"{namespace}/{name}", body.user)
    return {}
