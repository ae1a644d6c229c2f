"""Rate limiting of every request, per token or (without one) per client IP: ``429`` with ``Retry-After`` past
the limit, and the IETF draft's ``RateLimit`` / ``RateLimit-Policy`` fields on every limited response.

Two buckets, named as huggingface.co names its policies: ``resolvers`` for file transfers (resolve, the LFS batch
API, git over HTTP), which one ``snapshot_download`` makes two of per file, and ``api`` for everything else.

A token is known by a hash of its Authorization header, so that counting costs no database lookup. Site
admins are not limited: the request's actor dependency marks an admin's request (``rate_limit_exempt``) and
their credential is then left alone for a few minutes (its first request is counted, like any other).
LFS transfers through signed URLs are not counted: the batch request that handed them out was."""

from __future__ import annotations

import hashlib
import re
import time

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubstead.api.errors import error_response, rate_limit_headers
from hubstead.hub import Hub
from hubstead.ratelimit import Decision

API, RESOLVERS = "api", "resolvers"
SIGNED_PREFIXES = ("/api/hubstead/lfs/", "/api/hubstead/xet/")
EXEMPT_SECONDS = 300.0
MAX_EXEMPT = 10_000
# /{repo}/resolve/..., /datasets/{repo}/resolve/..., git's /{repo}.git/info/lfs/..., info/refs, *-pack, and the
# Xet CAS (reconstructions, xorbs, shards: what hf_xet fetches and sends per file)
TRANSFER_PATH = re.compile(
    r"^/(?:(?:datasets/|spaces/)?(?:[^/]+/)?[^/]+/(?:resolve/|info/lfs/objects/batch$|info/refs$|git-upload-pack$"
    r"|git-receive-pack$)|api/hubstead/xet/)"
)


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, hub: Hub) -> None:
        self.app = app
        self.hub = hub
        self._exempt: dict[str, float] = {}  # key -> until (monotonic)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits = self.hub.settings.rate_limit
        if scope["type"] != "http" or not limits.enabled or _signed_transfer(scope):
            await self.app(scope, receive, send)
            return
        credential, policy, limit = self._key(scope)
        if self._exempt.get(credential, 0.0) > time.monotonic():
            await self.app(scope, receive, send)
            return
        decision = await self._hit(f"{policy}:{credential}", limit, limits.window_seconds)
        headers = rate_limit_headers(policy, limit, limits.window_seconds, decision.remaining, decision.reset)
        if not decision.allowed:
            window = limits.window_seconds
            message = f"Too many requests ({policy}): at most {limit} every {window} seconds; retry later"
            refusal = error_response(429, message, headers=headers | {"Retry-After": str(decision.reset)})
            await refusal(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
                message = dict(message, headers=[*message.get("headers", []), *extra])
            await send(message)

        await self.app(scope, receive, send_with_headers)
        state = scope.get("state") or {}
        if state.get("rate_limit_exempt"):
            self._remember_exempt(credential)

    def _key(self, scope: Scope) -> tuple[str, str, int]:
        """(who: a token or an IP, the bucket, its limit)."""
        limits = self.hub.settings.rate_limit
        transfer = TRANSFER_PATH.match(scope.get("path", "")) is not None
        policy = RESOLVERS if transfer else API
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                credential = "t:" + hashlib.sha256(bytes(value)).hexdigest()[:32]
                return credential, policy, limits.token_downloads if transfer else limits.token_requests
        client = scope.get("client")
        ip = f"ip:{client[0] if client else '-'}"
        return ip, policy, limits.anonymous_downloads if transfer else limits.anonymous_requests

    async def _hit(self, key: str, limit: int, window: int) -> Decision:
        limiter = self.hub.rate_limiter
        if limiter.blocking:
            return await run_in_threadpool(limiter.hit, key, limit, window)
        return limiter.hit(key, limit, window)

    def _remember_exempt(self, key: str) -> None:
        now = time.monotonic()
        if len(self._exempt) > MAX_EXEMPT:
            self._exempt = {k: until for k, until in self._exempt.items() if until > now}
        self._exempt[key] = now + EXEMPT_SECONDS


def _signed_transfer(scope: Scope) -> bool:
    """An LFS or Xet upload or download through a signed URL: it carries no credential (clients PUT without one),
    and the request that handed it out was counted already. Counting it per IP would refuse a big upload."""
    return scope.get("path", "").startswith(SIGNED_PREFIXES) and b"sig=" in scope.get("query_string", b"")
