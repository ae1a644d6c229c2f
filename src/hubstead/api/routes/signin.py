"""Signing in and out with a user name and password: ``POST /api/hubstead/login`` sets the website's session
cookie (HttpOnly, SameSite=Lax), ``POST /api/hubstead/logout`` ends the session. Too many failed attempts
get ``429`` with ``Retry-After``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from hubstead.accounts.sessions import SESSION_LIFETIME
from hubstead.accounts.signin import SignInService
from hubstead.api.deps import SESSION_COOKIE, HubDep, SessionDep, client_ip
from hubstead.api.errors import error_response
from hubstead.api.limits import BoundedJsonRoute, json_body
from hubstead.errors import RateLimitedError

router = APIRouter(route_class=BoundedJsonRoute)


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=4096)


def _secure(request: Request, hub: HubDep) -> bool:
    return (hub.settings.public_url or str(request.base_url)).startswith("https://")


@router.post("/api/hubstead/login")
async def create_session(
    request: Request, body: Annotated[LoginBody, json_body(LoginBody)], session: SessionDep, hub: HubDep
) -> Response:
    service = SignInService(session, hub.rate_limiter, hub.settings.rate_limit)
    result = await run_in_threadpool(service.sign_in, body.username, body.password, client_ip(request))
    if result.retry_after is not None:
        raise RateLimitedError(
            "Too many failed sign-ins: try again later",
            policy="login",
            limit=result.limit,
            window=result.window,
            retry_after=result.retry_after,
        )
    if result.user is None or result.secret is None:
        # returned, not raised: the unit of work commits, and keeps the failure's audit event
        return error_response(401, "Invalid username or password")
    response = JSONResponse({"name": result.user.name, "type": "user"})
    max_age = int(SESSION_LIFETIME.total_seconds())
    response.set_cookie(
        SESSION_COOKIE, result.secret, max_age=max_age, httponly=True, samesite="lax", secure=_secure(request, hub)
    )
    return response


@router.post("/api/hubstead/logout")
async def delete_session(request: Request, session: SessionDep, hub: HubDep) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        service = SignInService(session, hub.rate_limiter, hub.settings.rate_limit)
        await run_in_threadpool(service.sign_out, secret, client_ip(request))
    response = JSONResponse({})
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=_secure(request, hub))
    return response
