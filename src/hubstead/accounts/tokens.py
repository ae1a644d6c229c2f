"""TokenService: a signed-in user's own access tokens, created, listed and revoked through the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hubstead.accounts.models import Account, Token, TokenRole
from hubstead.accounts.permissions import Actor
from hubstead.accounts.services import AccountService
from hubstead.errors import AuthenticationError, InvalidInputError, PermissionDeniedError


class TokenService:
    """Who may manage tokens: the user, with a full credential (a write token or a password/browser session).
    A read or fine-grained token can neither mint a token nor revoke one. Raises only Hubstead errors."""

    def __init__(self, session: Session) -> None:
        self.accounts = AccountService(session)

    @staticmethod
    def _owner(actor: Actor) -> Account:
        if actor.account is None:
            raise AuthenticationError("You must be authenticated to manage access tokens")
        if not actor.uses_full_credential:
            raise PermissionDeniedError("Managing access tokens needs a write token or a signed-in session")
        return actor.account

    def create_token(self, actor: Actor, name: str, role: str, fine_grained: Any = None) -> tuple[Token, str]:
        owner = self._owner(actor)
        try:
            token_role = TokenRole(role)
        except ValueError:
            raise InvalidInputError("role must be 'read', 'write' or 'fineGrained'") from None
        return self.accounts.create_token(owner, name, token_role, fine_grained, by=actor)

    def list_tokens(self, actor: Actor) -> list[Token]:
        return self.accounts.list_tokens(self._owner(actor))

    def revoke_token(self, actor: Actor, token_id: int) -> None:
        self.accounts.revoke_token(self._owner(actor), token_id, by=actor)
