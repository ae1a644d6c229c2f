"""Organisation members: ``GET /api/organizations/{org}/members`` as huggingface.co has it (what
``HfApi.list_organization_members`` reads, paginated with a ``Link`` header), and the organisation's own admins
managing its members under ``/api/hubstead/orgs/{org}/members``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import JSONResponse, Response

from hubstead.accounts.models import Membership, OrgRole
from hubstead.accounts.orgs import OrgMemberService
from hubstead.api.deps import ActorDep, BaseUrlDep, HubDep, SessionDep
from hubstead.api.limits import BoundedJsonRoute, json_body
from hubstead.api.routes.admin import member_info
from hubstead.errors import InvalidInputError

router = APIRouter(route_class=BoundedJsonRoute)


async def get_org_members(session: SessionDep) -> OrgMemberService:
    return OrgMemberService(session)


OrgMembersDep = Annotated[OrgMemberService, Depends(get_org_members)]


class MemberBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: OrgRole


def _public_member(membership: Membership, with_role: bool) -> dict[str, Any]:
    user = membership.user
    info: dict[str, Any] = {
        "user": user.name,
        "fullname": user.fullname,
        "avatarUrl": "",
        "type": "user",
        "isPro": False,
        "isFollowing": False,
        "_id": f"{user.id:024x}",
    }
    return info | ({"role": membership.role.value} if with_role else {})


@router.get("/api/organizations/{org}/members")
def list_organization_members(
    org: str,
    request: Request,
    members: OrgMembersDep,
    actor: ActorDep,
    hub: HubDep,
    base_url: BaseUrlDep,
    cursor: str | None = None,
) -> Response:
    """Anybody may list an organisation's members, as on huggingface.co; its members (and site admins) see roles."""
    if cursor is not None and (len(cursor) > 96 or "\x00" in cursor):
        raise InvalidInputError("cursor must be a user name")
    page_size = hub.settings.list_page_size
    page = members.list_public_members(org, after=cursor, limit=page_size + 1)
    with_role = members.may_see_roles(actor, org)
    headers = {}
    if len(page) > page_size:
        page = page[:page_size]
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        query.append(("cursor", page[-1].user.name))
        headers["Link"] = f'<{base_url}{request.url.path}?{urlencode(query)}>; rel="next"'
    return JSONResponse([_public_member(m, with_role) for m in page], headers=headers)


@router.get("/api/hubstead/orgs/{org}/members")
def list_org_members(org: str, members: OrgMembersDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [member_info(m) for m in members.list_members(actor, org)]


@router.put("/api/hubstead/orgs/{org}/members/{user}")
def set_org_member(
    org: str, user: str, body: Annotated[MemberBody, json_body(MemberBody)], members: OrgMembersDep, actor: ActorDep
) -> dict[str, Any]:
    return member_info(members.set_member(actor, org, user, body.role))


@router.delete("/api/hubstead/orgs/{org}/members/{user}")
def remove_org_member(org: str, user: str, members: OrgMembersDep, actor: ActorDep) -> dict[str, Any]:
    members.remove_member(actor, org, user)
    return {}
