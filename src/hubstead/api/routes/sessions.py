"""The signed-in user's website sessions (``/api/hubstead/sessions``: list, end one, end all the others) and
password (``POST /api/hubstead/password``, with the current password; it ends the other sessions)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from hubstead.accounts.models import WebSession
from hubstead.accounts.passwords import PasswordService
from hubstead.accounts.permissions import Actor
from hubstead.accounts.sessions import SessionService
from hubstead.api.deps import SESSION_COOKIE, ActorDep, HubDep, SessionDep, client_ip
from hubstead.api.errors import error_response
from hubstead.api.limits import BoundedJsonRoute, json_body, row_id
from hubstead.api.payloads import iso
from hubstead.errors import RateLimitedError, SessionNotFoundError

router = APIRouter(route_class=BoundedJsonRoute)


async def get_sessions(session: SessionDep) -> SessionService:
    return SessionService(session)


SessionsDep = Annotated[SessionService, Depends(get_sessions)]


def _current(request: Request, sessions: SessionService, actor: Actor) -> int | None:
    """The id of the session the request's cookie holds, if it is the caller's."""
    secret = request.cookies.get(SESSION_COOKIE)
    row = sessions.find_session(secret) if secret else None
    if row is None or actor.account is None or row.user_id != actor.account.id:
        return None
    return row.id


def session_info(row: WebSession, current: int | None) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "createdAt": iso(row.created_at),
        "lastSeenAt": iso(row.last_seen_at),
        "expiresAt": iso(row.expires_at),
        "current": row.id == current,
    }


@router.get("/api/hubstead/sessions")
def list_own_sessions(request: Request, sessions: SessionsDep, actor: ActorDep) -> list[dict[str, Any]]:
    rows = sessions.list_own_sessions(actor)
    current = _current(request, sessions, actor)
    return [session_info(row, current) for row in rows]


@router.delete("/api/hubstead/sessions/{session_id}")
def revoke_own_session(session_id: str, sessions: SessionsDep, actor: ActorDep) -> dict[str, Any]:
    sessions.revoke_own_session(actor, row_id(session_id, SessionNotFoundError))
    return {}


@router.delete("/api/hubstead/sessions")
def revoke_other_sessions(request: Request, sessions: SessionsDep, actor: ActorDep) -> dict[str, Any]:
    """Every session of the caller ends, but the one this request's cookie holds (if any)."""
    ended = sessions.revoke_other_sessions(actor, _current(request, sessions, actor))
    return {"revoked": ended}


class PasswordBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    current_password: str = Field(alias="currentPassword", min_length=1, max_length=4096)
    new_password: str = Field(alias="newPassword", min_length=1, max_length=4096)


async def _password_actor(request: Request, actor: ActorDep, session: SessionDep) -> Actor:
    """The caller; here, unlike on other changes, the session cookie counts on a POST too: the current password
    the body must hold is what no cross-site form can know."""
    secret = request.cookies.get(SESSION_COOKIE)
    if actor.account is not None or not secret:
        return actor
    found = await run_in_threadpool(SessionService(session).actor_for_session, secret)
    return replace(found, ip=client_ip(request)) if found.account is not None else actor


@router.post("/api/hubstead/password")
async def change_own_password(
    request: Request,
    body: Annotated[PasswordBody, json_body(PasswordBody)],
    actor: Annotated[Actor, Depends(_password_actor)],
    session: SessionDep,
    hub: HubDep,
) -> Response:
    service = PasswordService(session, hub.rate_limiter, hub.settings.rate_limit)
    keep = await run_in_threadpool(_current, request, SessionService(session), actor)
    result = await run_in_threadpool(
        lambda: service.change_password(actor, body.current_password, body.new_password, keep_session=keep)
    )
    if result.retry_after is not None:
        raise RateLimitedError(
            "Too many wrong passwords: try again later",
            policy="login",
            limit=result.limit,
            window=result.window,
            retry_after=result.retry_after,
        )
    if not result.changed:
        # returned, not raised: the unit of work commits, and keeps the failure's audit event
        return error_response(403, "The current password is wrong")
    return JSONResponse({"sessionsEnded": result.sessions_ended})
