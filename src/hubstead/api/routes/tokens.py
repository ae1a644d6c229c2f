"""Access tokens of the signed-in user: ``/api/hubstead/tokens`` (create, list, revoke). A token is shown
once, when created; only its sha256 is stored."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from hubstead.accounts.models import Token, TokenRole
from hubstead.accounts.tokens import TokenService
from hubstead.api.deps import ActorDep, SessionDep
from hubstead.api.limits import BoundedJsonRoute, json_body, row_id
from hubstead.api.payloads import iso
from hubstead.errors import TokenNotFoundError

router = APIRouter(route_class=BoundedJsonRoute)


def token_info(token: Token) -> dict[str, Any]:
    """A token as whoami-v2 (``auth.accessToken``) and the token API show it; never its secret."""
    info: dict[str, Any] = {
        "id": str(token.id),
        "displayName": token.name,
        "role": token.role.value,
        "createdAt": iso(token.created_at),
        "lastUsedAt": iso(token.last_used_at) if token.last_used_at else None,
    }
    if token.role == TokenRole.FINE_GRAINED:
        info["fineGrained"] = token.fine_grained or {"global": [], "scoped": [], "canReadGatedRepos": False}
    return info


class CreateTokenBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    name: str = Field(alias="displayName", min_length=1, max_length=100)
    role: str = "read"
    fine_grained: dict[str, Any] | None = Field(default=None, alias="fineGrained")


async def get_token_service(session: SessionDep) -> TokenService:
    return TokenService(session)


TokenServiceDep = Annotated[TokenService, Depends(get_token_service)]


@router.get("/api/hubstead/tokens")
def list_access_tokens(tokens: TokenServiceDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [token_info(t) for t in tokens.list_tokens(actor)]


@router.post("/api/hubstead/tokens")
def create_access_token(
    body: Annotated[CreateTokenBody, json_body(CreateTokenBody)], tokens: TokenServiceDep, actor: ActorDep
) -> dict[str, Any]:
    token, clear = tokens.create_token(actor, body.name, body.role, body.fine_grained)
    return token_info(token) | {"token": clear}


@router.delete("/api/hubstead/tokens/{token_id}")
def revoke_access_token(token_id: str, tokens: TokenServiceDep, actor: ActorDep) -> dict[str, Any]:
    tokens.revoke_token(actor, row_id(token_id, TokenNotFoundError))
    return {}
