"""Request bodies read as streams: spooled to disk past a few MB, refused past the configured limit."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import IO, Annotated

from fastapi import Depends, Request

from hubstead.api.deps import HubDep
from hubstead.errors import PayloadTooLargeError
from hubstead.numbers import parse_decimal

SPOOL_IN_MEMORY = 8 * 1024 * 1024
READ_CHUNK = 1024 * 1024


async def spooled_body(request: Request, hub: HubDep) -> AsyncIterator[IO[bytes]]:
    limit = hub.settings.max_commit_body_bytes
    declared = parse_decimal(request.headers.get("content-length"), 30)
    if declared is not None and declared > limit:
        raise PayloadTooLargeError(f"Request body is larger than the {limit} bytes allowed")
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise PayloadTooLargeError(f"Request body is larger than the {limit} bytes allowed")
            spool.write(chunk)
        spool.seek(0)
        yield spool


SpooledBody = Annotated[IO[bytes], Depends(spooled_body)]


def iter_chunks(body: IO[bytes]) -> Iterator[bytes]:
    while chunk := body.read(READ_CHUNK):
        yield chunk
