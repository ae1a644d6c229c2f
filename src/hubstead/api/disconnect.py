"""Work that stops when the client goes away: a request's result is raced against its disconnect."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

from starlette.requests import Request

T = TypeVar("T")


class ClientGoneError(Exception):
    """The client disconnected before the answer was ready (no one reads a response any more)."""


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """``work``'s result; cancelled (and ClientGoneError raised) if the client disconnects first. Call it only
    once the body has been read: it listens for the disconnect on the request's receive channel."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        watcher.cancel()
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    raise ClientGoneError


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
