"""Request bodies read with a size cap: the account, token and admin endpoints never buffer a huge body, nor
the CAS a xorb past its limit."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hubstead import bounded_json
from hubstead.api.errors import status_for
from hubstead.errors import HubsteadError, InvalidInputError, PayloadTooLargeError
from hubstead.numbers import parse_decimal
from hubstead.storage import page_aligned_buffer

MAX_JSON_BODY = 64 * 1024
MAX_ROUTE_JSON_BODY = 8 * 1024 * 1024  # preupload: 1000 paths, samples and a gitIgnore; validate-yaml: a card
MAX_ROW_ID = 2**31 - 1  # the largest INTEGER primary key on every backend

M = TypeVar("M", bound=BaseModel)


def _declared_length(request: Request, limit: int) -> int | None:
    """The body's declared length (None if it declares none); 413 if past ``limit``."""
    declared = parse_decimal(request.headers.get("content-length"), 30)
    if declared is None:
        return None
    if declared > limit:
        raise PayloadTooLargeError(f"Request body is larger than the {limit} bytes allowed")
    return declared


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
    """The body as JSON; 413 past ``limit`` bytes (declared or streamed), 400 if it is not JSON or nests
    deeper than ``bounded_json.MAX_DEPTH``. An empty body is ``{}``."""
    body = await read_body(request, limit)
    if not body.strip():
        return {}
    try:
        return bounded_json.loads(body)
    except bounded_json.InvalidJsonError as exc:
        raise InvalidInputError(f"The body is {exc}") from None


class BoundedJsonRequest(Request):
    """A request whose body FastAPI reads for a pydantic body parameter: at most ``MAX_ROUTE_JSON_BODY`` bytes,
    and JSON only as ``bounded_json`` parses it (FastAPI would read any size, and nest to a RecursionError)."""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            try:
                self._body = bytes(await read_body(self, MAX_ROUTE_JSON_BODY))
            except HubsteadError as exc:  # FastAPI turns any other exception into a bare 400
                raise StarletteHTTPException(status_for(exc), exc.message) from None
        return self._body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = bounded_json.loads(await self.body())
            except bounded_json.InvalidJsonError as exc:
                raise StarletteHTTPException(400, f"The body is {exc}") from None
        return self._json


class BoundedJsonRoute(APIRoute):
    """The route class of every router whose endpoints take a body FastAPI parses (see ``BoundedJsonRequest``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handle(BoundedJsonRequest(request.scope, request.receive))

        return bounded


def json_body(model: type[M], limit: int = MAX_JSON_BODY) -> Any:
    """A dependency: the body, capped at ``limit`` bytes, validated as ``model`` (422 as for FastAPI bodies)."""

    async def parse(request: Request) -> M:
        data = await read_json(request, limit)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None

    parse.json_model = model  # type: ignore[attr-defined]  # the OpenAPI schema describes the body from it
    return Depends(parse)


def json_value(limit: int = MAX_JSON_BODY) -> Any:
    """A dependency: the body as any JSON value, capped at ``limit`` bytes, for routes that check its shape."""

    async def parse(request: Request) -> Any:
        return await read_json(request, limit)

    return Depends(parse)


def row_id(text: str, not_found: type[Exception]) -> int:
    """A numeric id from a URL; anything else (or too large for the database) is simply not found."""
    number = parse_decimal(text, 10)
    if number is None or number > MAX_ROW_ID:
        raise not_found(f"No such id: {text[:50]}")
    return number
