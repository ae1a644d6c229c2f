"""Site administration over HTTP, for site admins: ``/api/hubstead/admin/...`` users, organisations, members,
tokens, and the audit log (JSON pages, or every event as JSON lines with ``?format=jsonl``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response, StreamingResponse

from hubstead.accounts.models import Account, AccountType, Membership, OrgRole, TokenRole
from hubstead.admin.services import AdminService
from hubstead.api.deps import ActorDep, HubDep, SessionDep
from hubstead.api.limits import MAX_ROW_ID, BoundedJsonRoute, json_body, row_id
from hubstead.api.payloads import iso
from hubstead.api.routes.tokens import token_info
from hubstead.audit.services import event_dict
from hubstead.errors import InvalidInputError, TokenNotFoundError
from hubstead.hub import Hub

router = APIRouter(prefix="/api/hubstead/admin", route_class=BoundedJsonRoute)


async def get_admin(session: SessionDep, actor: ActorDep) -> AdminService:
    return AdminService(session, actor)


AdminDep = Annotated[AdminService, Depends(get_admin)]


def account_info(account: Account) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": account.name,
        "type": account.type.value,
        "fullname": account.fullname,
        "createdAt": iso(account.created_at),
    }
    if account.type == AccountType.USER:
        info |= {"email": account.email, "isAdmin": account.is_admin, "disabled": account.disabled}
    return info


def member_info(membership: Membership) -> dict[str, Any]:
    return {"user": membership.user.name, "fullname": membership.user.fullname, "role": membership.role.value}


def _page(after: str | None, limit: int) -> tuple[str | None, int]:
    if not 1 <= limit <= 1000:
        raise InvalidInputError("limit must be between 1 and 1000")
    if after is not None and (len(after) > 96 or "\x00" in after):
        raise InvalidInputError("after must be an account name")
    return after, limit


# --- users ----------------------------------------------------------------------------------------


class CreateUserBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    name: str = Field(min_length=1, max_length=96)
    password: str | None = Field(default=None, max_length=1024)
    email: str | None = Field(default=None, max_length=320)
    fullname: str | None = Field(default=None, max_length=200)
    is_admin: bool = Field(default=False, alias="isAdmin")


class UpdateUserBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    disabled: bool | None = None
    is_admin: bool | None = Field(default=None, alias="isAdmin")


@router.get("/users")
def admin_list_users(admin: AdminDep, after: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    return [account_info(a) for a in admin.list_accounts(AccountType.USER, *_page(after, limit))]


@router.post("/users")
def admin_create_user(body: Annotated[CreateUserBody, json_body(CreateUserBody)], admin: AdminDep) -> dict[str, Any]:
    user = admin.create_user(
        body.name, password=body.password, email=body.email, fullname=body.fullname, is_admin=body.is_admin
    )
    return account_info(user)


@router.get("/users/{name}")
def admin_get_user(name: str, admin: AdminDep) -> dict[str, Any]:
    return account_info(admin.get_account(name, AccountType.USER))


@router.patch("/users/{name}")
def admin_update_user(
    name: str, body: Annotated[UpdateUserBody, json_body(UpdateUserBody)], admin: AdminDep
) -> dict[str, Any]:
    return account_info(admin.update_user(name, disabled=body.disabled, is_admin=body.is_admin))


@router.delete("/users/{name}")
def admin_delete_user(name: str, admin: AdminDep) -> dict[str, Any]:
    admin.delete_account(name, AccountType.USER)
    return {}


class PasswordBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=4096)


@router.put("/users/{name}/password")
def admin_reset_user_password(
    name: str, body: Annotated[PasswordBody, json_body(PasswordBody)], admin: AdminDep
) -> dict[str, Any]:
    """Set a user's password; their website sessions end (their tokens keep working)."""
    return {"sessionsEnded": admin.reset_password(name, body.password)}


# --- tokens ---------------------------------------------------------------------------------------


class CreateTokenBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    name: str = Field(alias="displayName", min_length=1, max_length=100)
    role: TokenRole = TokenRole.READ
    fine_grained: dict[str, Any] | None = Field(default=None, alias="fineGrained")


@router.get("/users/{name}/tokens")
def admin_list_user_tokens(name: str, admin: AdminDep) -> list[dict[str, Any]]:
    return [token_info(t) for t in admin.list_tokens(name)]


@router.post("/users/{name}/tokens")
def admin_create_user_token(
    name: str, body: Annotated[CreateTokenBody, json_body(CreateTokenBody)], admin: AdminDep
) -> dict[str, Any]:
    token, clear = admin.create_token(name, body.name, body.role, body.fine_grained)
    return token_info(token) | {"token": clear, "user": name}


@router.delete("/tokens/{token_id}")
def admin_revoke_any_token(token_id: str, admin: AdminDep) -> dict[str, Any]:
    admin.revoke_token(row_id(token_id, TokenNotFoundError))
    return {}


# --- organisations and members ---------------------------------------------------------------------


class CreateOrgBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=96)
    fullname: str | None = Field(default=None, max_length=200)


class MemberBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: OrgRole


@router.get("/orgs")
def admin_list_orgs(admin: AdminDep, after: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    return [account_info(a) for a in admin.list_accounts(AccountType.ORG, *_page(after, limit))]


@router.post("/orgs")
def admin_create_org(body: Annotated[CreateOrgBody, json_body(CreateOrgBody)], admin: AdminDep) -> dict[str, Any]:
    return account_info(admin.create_org(body.name, fullname=body.fullname))


@router.delete("/orgs/{name}")
def admin_delete_org(name: str, admin: AdminDep) -> dict[str, Any]:
    admin.delete_account(name, AccountType.ORG)
    return {}


@router.get("/orgs/{name}/members")
def admin_list_org_members(name: str, admin: AdminDep) -> list[dict[str, Any]]:
    return [member_info(m) for m in admin.list_members(name)]


@router.put("/orgs/{name}/members/{user}")
def admin_set_org_member(
    name: str, user: str, body: Annotated[MemberBody, json_body(MemberBody)], admin: AdminDep
) -> dict[str, Any]:
    return member_info(admin.set_member(name, user, body.role))


@router.delete("/orgs/{name}/members/{user}")
def admin_remove_org_member(name: str, user: str, admin: AdminDep) -> dict[str, Any]:
    admin.remove_member(name, user)
    return {}


# --- audit log ------------------------------------------------------------------------------------


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError("since must be an ISO-8601 date or time, e.g. 2026-01-31T00:00:00Z") from None
    if value.tzinfo is None:
        raise InvalidInputError("since needs a time zone, e.g. 2026-01-31T00:00:00Z")
    return value


@router.get("/audit")
def admin_list_audit_events(
    admin: AdminDep,
    hub: HubDep,
    format: str = "json",
    after: int | None = None,
    since: str | None = None,
    action: str | None = None,
    limit: int = 100,
) -> Response:
    """``format=json``: a page of events, oldest first (``after`` = the last id seen); ``format=jsonl``: all of
    them (``since``/``action`` filter both), streamed."""
    if format not in ("json", "jsonl"):
        raise InvalidInputError("format must be 'json' or 'jsonl'")
    if action is not None and (len(action) > 64 or "\x00" in action):
        raise InvalidInputError("action is at most 64 characters")
    if after is not None:
        after = max(-1, min(after, MAX_ROW_ID))
    start = _since(since)
    if format == "json":
        _page(None, limit)
        events = admin.list_audit(after=after, since=start, action=action, limit=limit)
        return JSONResponse([event_dict(e) for e in events])
    admin.list_audit(limit=1)  # checks the caller before the stream starts
    return StreamingResponse(
        _export(hub, start, action), media_type="application/x-ndjson", headers={"Cache-Control": "no-store"}
    )


def _export(hub: Hub, since: datetime | None, action: str | None) -> Iterator[bytes]:
    # its own unit of work: the request's ends before the response is streamed
    with hub.sessions() as session:
        for event in AdminService(session, None).export_audit(since=since, action=action):
            yield json.dumps(event_dict(event)).encode() + b"\n"
