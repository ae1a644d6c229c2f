"""CAS access tokens: what ``xet-read-token`` / ``xet-write-token`` hand out and the CAS routes accept.

A token is self-contained (an HMAC over the repo, the right and the expiry), so the CAS needs no lookup and
can run in its own process with the same secret. It lives ``ttl`` seconds; clients refresh it before then."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from hubstead.errors import AuthenticationError, PermissionDeniedError

PREFIX = "xet_"


@dataclass(frozen=True)
class CasGrant:
    repo_id: int  # the repo's primary key
    write: bool
    expires: int  # unix seconds
    account_id: int | None


class CasTokens:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._key = hashlib.sha256(f"xet-cas|{secret}".encode()).digest()
        self.ttl_seconds = ttl_seconds

    def _mac(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def issue(self, repo_id: int, *, write: bool, account_id: int | None, now: float | None = None) -> CasGrant:
        expires = int((now if now is not None else time.time()) + self.ttl_seconds)
        return CasGrant(repo_id=repo_id, write=write, expires=expires, account_id=account_id)

    def encode(self, grant: CasGrant) -> str:
        body = {"r": grant.repo_id, "w": int(grant.write), "e": grant.expires, "a": grant.account_id}
        payload = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).rstrip(b"=")
        return f"{PREFIX}{payload.decode()}.{self._mac(payload)}"

    def check(self, authorization: str | None, *, write: bool) -> CasGrant:
        """The grant an ``Authorization: Bearer`` header carries; 401 if absent, forged or expired, 403 if it
        only reads and ``write`` is needed."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token.startswith(PREFIX) or "." not in token:
            raise AuthenticationError("A CAS access token is required (from xet-read-token or xet-write-token)")
        payload, _, mac = token[len(PREFIX) :].partition(".")
        if not hmac.compare_digest(self._mac(payload.encode()), mac):
            raise AuthenticationError("Invalid CAS access token")
        try:
            body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            grant = CasGrant(
                repo_id=int(body["r"]), write=bool(body["w"]), expires=int(body["e"]), account_id=body.get("a")
            )
        except (ValueError, KeyError, TypeError):
            raise AuthenticationError("Invalid CAS access token") from None
        if grant.expires < time.time():
            raise AuthenticationError("The CAS access token has expired: ask the hub for a new one")
        if write and not grant.write:
            raise PermissionDeniedError("This CAS access token only reads: uploads need a xet-write-token")
        return grant
