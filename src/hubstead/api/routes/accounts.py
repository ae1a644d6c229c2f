"""Who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hubstead.accounts.services import AccountService
from hubstead.api.deps import ActorDep, SessionDep
from hubstead.api.limits import BoundedJsonRoute
from hubstead.api.routes.tokens import token_info
from hubstead.errors import AuthenticationError

router = APIRouter(route_class=BoundedJsonRoute)


@router.get("/api/whoami-v2")
def get_whoami(actor: ActorDep, session: SessionDep) -> dict[str, Any]:
    if actor.account is None:
        raise AuthenticationError("Invalid credentials in Authorization header")
    user = actor.account
    orgs = [
        {
            "type": "org",
            "id": f"{m.org.id:024x}",
            "name": m.org.name,
            "fullname": m.org.fullname,
            "roleInOrg": m.role.value,
            "isEnterprise": False,
        }
        for m in AccountService(session).list_memberships(user)
    ]
    out: dict[str, Any] = {
        "type": "user",
        "id": f"{user.id:024x}",
        "name": user.name,
        "fullname": user.fullname,
        "email": user.email,
        "emailVerified": user.email is not None,
        "isPro": False,
        "canPay": False,
        "isAdmin": user.is_admin,
        "orgs": orgs,
    }
    if actor.token is not None:
        out["auth"] = {"type": "access_token", "accessToken": token_info(actor.token)}
    return out
