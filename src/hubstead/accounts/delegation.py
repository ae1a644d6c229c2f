"""Short-lived tokens the hub hands to its compute workers (inference): read-only, for one repo, on behalf of
the caller whose request the worker serves. A worker downloads that repo's files with one and nothing else.

``hsd_<payload>.<hmac>``, the payload naming the account (or none), the repo and an expiry, signed with the
hub's secret: nothing is stored, and the token dies at its expiry, or with its repo (the payload names the repo's
uid, which a repo made again under the same name does not share). Accepted only on the download paths of
its own repo (see ``api/deps.get_actor``), so an admin's delegated token is not an admin credential."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from hubstead.accounts.models import Token, TokenRole
from hubstead.accounts.scopes import REPO_CONTENT_READ, FineGrained, Scope
from hubstead.errors import AuthenticationError

PREFIX = "hsd_"


@dataclass(frozen=True)
class Delegation:
    account: str | None
    repo_type: str
    repo_id: str
    repo_uid: str  # the repo's creation: a repo deleted and made again under the name is another one
    expires: int

    def scopes(self) -> FineGrained:
        scope = Scope(self.repo_type, self.repo_id.lower(), frozenset({REPO_CONTENT_READ}))
        return FineGrained(frozenset(), (scope,), can_read_gated_repos=True)

    @staticmethod
    def token() -> Token:
        """A transient (never stored) fine-grained token, so that the permission checks read it as one."""
        return Token(name="delegated", role=TokenRole.FINE_GRAINED, fine_grained=None)

    def allows_path(self, method: str, path: str) -> bool:
        """Metadata and file downloads of its own repo, reads only."""
        prefix = "" if self.repo_type == "model" else f"/{self.repo_type}s"
        own = (f"/api/{self.repo_type}s/{self.repo_id}/", f"{prefix}/{self.repo_id}/resolve/")
        return method in ("GET", "HEAD") and path.startswith(own)


class DelegatedTokens:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._key = hashlib.sha256(b"delegation|" + secret.encode()).digest()
        self.ttl_seconds = ttl_seconds

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def issue(self, account: str | None, repo_type: str, repo_id: str, repo_uid: str, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self.ttl_seconds)
        data = json.dumps(
            {"a": account, "t": repo_type, "r": repo_id, "u": repo_uid, "e": expires}, separators=(",", ":")
        )
        payload = base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")
        return f"{PREFIX}{payload}.{self._sign(payload)}"

    def verify(self, token: str) -> Delegation:
        payload, _, signature = token.removeprefix(PREFIX).partition(".")
        if not hmac.compare_digest(self._sign(payload), signature):
            raise AuthenticationError("Invalid credentials in Authorization header")
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            delegation = Delegation(data["a"], str(data["t"]), str(data["r"]), str(data["u"]), int(data["e"]))
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise AuthenticationError("Invalid credentials in Authorization header") from exc
        if delegation.expires < time.time():
            raise AuthenticationError("This delegated token has expired")
        return delegation
