"""HTTP ``Range`` headers: one byte range, as download clients send them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hubstead.errors import RangeNotSatisfiableError

_RANGE = re.compile(r"^[ \t]*bytes[ \t]*=[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)[ \t]*$")
_BEYOND_ANY_FILE = 2**63  # a position with more digits than this is past the end of every file


def _position(digits: str) -> int:
    """A byte position from the header, without parsing thousands of digits (``int`` refuses past 4300)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 19 else _BEYOND_ANY_FILE


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
        length = _position(last)
        if length == 0:
            raise RangeNotSatisfiableError("Requested range not satisfiable", size)
        return max(0, size - length), size
    start = _position(first)
    end = min(_position(last) + 1, size) if last else size
    if start >= size or (last and _position(last) < start):
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
