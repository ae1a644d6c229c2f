"""HTTP ``Range`` headers: one byte range, as download clients send them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hubstead.errors import RangeNotSatisfiableError

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end_exclusive)`` for a satisfiable single range; None to send the whole file.
    Raises RangeNotSatisfiableError when the range starts past the end."""
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None  # multiple or malformed ranges: RFC 9110 lets us ignore the header
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiableError("Requested range not satisfiable", size)
        return max(0, size - length), size
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if start >= size or (last and int(last) < start):
        raise RangeNotSatisfiableError("Requested range not satisfiable", size)
    return start, end


def ranged_response(
    request: Request,
    size: int,
    read: Callable[[int, int], Iterable[bytes | memoryview]],
    headers: dict[str, str] | None = None,
) -> Response:
    """A GET or HEAD answer for ``size`` bytes, honouring a single ``Range``: 206 with ``Content-Range`` for a
    range, 200 otherwise; ``read(start, end)`` gives bytes [start, end) and is called only for GET."""
    byte_range = parse_range(request.headers.get("range"), size)
    start, end = byte_range or (0, size)
    out = {"Content-Length": str(end - start), "Accept-Ranges": "bytes"} | (headers or {})
    if byte_range:
        out["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    status = 206 if byte_range else 200
    if request.method == "HEAD":
        return Response(status_code=status, headers=out, media_type="application/octet-stream")
    return StreamingResponse(read(start, end), status_code=status, headers=out, media_type="application/octet-stream")
