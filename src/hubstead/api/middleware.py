"""ASGI middleware: request ids on every response, raw-path routing for ``%2F`` in revisions, and a
logged 500 with the request id (never internals) for anything unexpected."""

from __future__ import annotations

import logging
import random
import re
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubstead.api.errors import error_response

log = logging.getLogger("hubstead.api")

# Revisions arrive as quote(rev, safe="") ("refs%2Fpr%2F1"): routing on the decoded path would split them.
# An encoded slash becomes this character in the routed path; route params turn it back into "/".
ENCODED_SLASH = "\x00"
_ENCODED_SLASH_RE = re.compile(r"%2[fF]")
_TRACE_ID = re.compile(r"^[A-Za-z0-9=;._:-]{1,200}$")


def decode_param(value: str) -> str:
    return str(value).replace(ENCODED_SLASH, "/")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        # a NUL is never part of a repo id, revision or path, and would be read back as an encoded "/"
        client_sent_nul = ENCODED_SLASH in scope.get("path", "")
        raw_path = scope.get("raw_path")
        if raw_path and b"%2" in raw_path:
            raw = raw_path.decode("latin-1").split("?", 1)[0]
            scope = dict(scope, path=unquote(_ENCODED_SLASH_RE.sub("%00", raw)))
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = dict(message, headers=headers)
            await send(message)

        try:
            if client_sent_nul:
                refusal = error_response(400, "Invalid URL: NUL characters (%00) are not allowed")
                await refusal(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error (request id %s)", request_id)
            if started:
                raise
            await _send_500(send, request_id)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name in (b"x-request-id", b"x-amzn-trace-id"):
            text = bytes(value).decode("latin-1")
            if _TRACE_ID.match(text):
                return text
    # not uuid4: os.urandom releases the GIL, and the event loop then waits for a worker thread to give it back
    return f"{random.getrandbits(128):032x}"


async def _send_500(send: Send, request_id: str) -> None:
    body = b'{"error":"Internal server error (request id ' + request_id.encode() + b')"}'
    headers: list[tuple[bytes, Any]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
        (b"x-error-message", b"Internal server error"),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
