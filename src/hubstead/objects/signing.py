"""Self-authenticating URLs to objects: an HMAC over the path and an expiry, for clients that send no
credentials (LFS upload PUTs and completions, LFS downloads by git-lfs, Xet xorb ranges)."""

from __future__ import annotations

import hashlib
import hmac
import time

from hubstead.errors import PermissionDeniedError
from hubstead.numbers import parse_decimal


class UrlSigner:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._key = secret.encode()
        self.ttl_seconds = ttl_seconds

    def _signature(self, path: str, expires: int) -> str:
        return hmac.new(self._key, f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()

    def sign(self, path: str, now: float | None = None) -> str:
        """``path`` with ``expires=…&sig=…`` appended to its query (a query already in ``path`` is signed too)."""
        expires = int((now if now is not None else time.time()) + self.ttl_seconds)
        separator = "&" if "?" in path else "?"
        return f"{path}{separator}expires={expires}&sig={self._signature(path, expires)}"

    def verify(self, path: str, expires: str | None, sig: str | None) -> None:
        expiry = parse_decimal(expires)
        if expiry is None or not sig:
            raise PermissionDeniedError("This upload URL is not signed")
        if expiry < time.time():
            raise PermissionDeniedError("This upload URL has expired: ask the batch API for a new one")
        if not hmac.compare_digest(self._signature(path, expiry), sig):
            raise PermissionDeniedError("This upload URL's signature is invalid")
