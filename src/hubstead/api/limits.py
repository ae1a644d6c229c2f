"""Request bodies read with a size cap: the account, token and admin endpoints never buffer a huge body, nor
the CAS a xorb past its limit."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from hubstead.errors import InvalidInputError, PayloadTooLargeError
from hubstead.storage import page_aligned_buffer

MAX_JSON_BODY = 64 * 1024
MAX_ROW_ID = 2**31 - 1  # the largest INTEGER primary key on every backend

M = TypeVar("M", bound=BaseModel)


def _declared_length(request: Request, limit: int) -> int | None:
    """The body's declared length (None if it declares none); 413 if past ``limit``."""
    declared = request.headers.get("content-length")
    if not declared or not declared.isdigit():
        return None
    if int(declared) > limit:
        raise PayloadTooLargeError(f"Request body is larger than the {limit} bytes allowed")
    return int(declared)


async def read_body(request: Request, limit: int) -> bytearray:
    """The whole body; 413 past ``limit`` bytes (declared or streamed), 400 if shorter than declared."""
    declared = _declared_length(request, limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLargeError(f"Request body is larger than the {limit} bytes allowed")
    if declared is not None and len(body) != declared:
        raise InvalidInputError(f"The body was cut short: {len(body)} of {declared} bytes")
    return body


async def read_body_page_aligned(request: Request, limit: int) -> bytearray | memoryview:
    """As ``read_body``, but a body that declares its length is read into a page-aligned buffer, which a blob
    writer hands to the disk without a copy into the page cache (see ``LocalBlobWriter``): for xorbs."""
    size = _declared_length(request, limit)
    if size is None:
        return await read_body(request, limit)
    if size == 0:
        return await read_body(request, 0)
    buffer, filled = page_aligned_buffer(size), 0
    async for chunk in request.stream():
        if filled + len(chunk) > size:
            raise InvalidInputError(f"The body is longer than the {size} bytes declared")
        buffer[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    if filled != size:
        raise InvalidInputError(f"The body was cut short: {filled} of {size} bytes")
    return memoryview(buffer)


async def read_json(request: Request, limit: int = MAX_JSON_BODY) -> Any:
    """The body as JSON; 413 past ``limit`` bytes (declared or streamed), 400 if it is not JSON. An empty
    body is ``{}``."""
    body = await read_body(request, limit)
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("The body is not valid JSON") from None


def json_body(model: type[M], limit: int = MAX_JSON_BODY) -> Any:
    """A dependency: the body, capped at ``limit`` bytes, validated as ``model`` (422 as for FastAPI bodies)."""

    async def parse(request: Request) -> M:
        data = await read_json(request, limit)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None

    return Depends(parse)


def json_value(limit: int = MAX_JSON_BODY) -> Any:
    """A dependency: the body as any JSON value, capped at ``limit`` bytes, for routes that check its shape."""

    async def parse(request: Request) -> Any:
        return await read_json(request, limit)

    return Depends(parse)


def row_id(text: str, not_found: type[Exception]) -> int:
    """A numeric id from a URL; anything else (or too large for the database) is simply not found."""
    if not text.isdigit() or len(text) > 10 or int(text) > MAX_ROW_ID:
        raise not_found(f"No such id: {text[:50]}")
    return int(text)
