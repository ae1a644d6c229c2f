"""CAS access tokens: what ``xet-read-token`` / ``xet-write-token`` hand out and the CAS routes accept.

A token is an HMAC over the repo, the right and the expiry, so it cannot be forged or widened. It names the repo
by its id and its uid (which no other repo ever has): the CAS checks that this repo still exists before it acts
(``CasService.require_repo``), so the token of a deleted repo opens nothing, not even a new repo under the same
name. It lives ``ttl`` seconds; clients refresh it before then."""

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
    repo_uid: str  # and its uid: the id alone could name another repo once this one is gone
    write: bool
    expires: int  # unix seconds
    account_id: int | None


class CasTokens:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._key = hashlib.sha256(f"xet-cas|{secret}".encode()).digest()
        self.ttl_seconds = ttl_seconds

    def _mac(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def issue(
        self, repo_id: int, repo_uid: str, *, write: bool, account_id: int | None, now: float | None = None
    ) -> CasGrant:
        expires = int((now if now is not None else time.time()) + self.ttl_seconds)
        return CasGrant(repo_id=repo_id, repo_uid=repo_uid, write=write, expires=expires, account_id=account_id)

    def encode(self, grant: CasGrant) -> str:
        body: dict[str, object] = {
            "r": grant.repo_id,
            "u": grant.repo_uid,
            "w": int(grant.write),
            "e": grant.expires,
            "a": grant.account_id,
        }
        payload = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).rstrip(b"=")
        return f"{PREFIX}{payload.decode()}.{self._mac(payload)}"

    def check(self, authorization: str | None, *, write: bool) -> CasGrant:
        """The grant an ``Authorization: Bearer`` header carries; 401 if absent, forged or expired (or issued
        before tokens named the repo's uid), 403 if it only reads and ``write`` is needed. Whether its repo still
        exists is the caller's check (``CasService.require_repo``)."""
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
                repo_id=int(body["r"]),
                repo_uid=_uid(body["u"]),
                write=bool(body["w"]),
                expires=int(body["e"]),
                account_id=body.get("a"),
            )
        except (ValueError, KeyError, TypeError):
            raise AuthenticationError("Invalid CAS access token") from None
        if grant.expires < time.time():
            raise AuthenticationError("The CAS access token has expired: ask the hub for a new one")
        if write and not grant.write:
            raise PermissionDeniedError("This CAS access token only reads: uploads need a xet-write-token")
        return grant


def _uid(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("a repo uid is a non-empty string")
    return value
