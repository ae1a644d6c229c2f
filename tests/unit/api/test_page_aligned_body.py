"""``read_body_page_aligned``: xorb bodies land in a page-aligned buffer, checked against their declared length."""

from __future__ import annotations

import asyncio
import ctypes
import mmap
from typing import Any

import pytest
from starlette.requests import Request

from hubstead.api.limits import read_body_page_aligned
from hubstead.errors import InvalidInputError, PayloadTooLargeError


def request(chunks: list[bytes], length: int | None) -> Request:
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


def read(chunks: list[bytes], length: int | None, limit: int = 1 << 20) -> bytearray | memoryview:
    return asyncio.run(read_body_page_aligned(request(chunks, length), limit))


def test_a_declared_body_is_read_into_a_page_aligned_writable_buffer() -> None:
    chunks = [b"a" * 5000, b"b" * 3, b"c" * 70_000]
    body = read(chunks, 75_003)

    assert bytes(body) == b"".join(chunks)
    assert isinstance(body, memoryview)
    assert not body.readonly
    assert ctypes.addressof(ctypes.c_char.from_buffer(body)) % mmap.PAGESIZE == 0


@pytest.mark.parametrize(
    ("chunks", "length", "error", "message"),
    [
        ([b"x" * 10, b"y" * 5], 20, InvalidInputError, "cut short"),
        ([b"x" * 10, b"y" * 5], 12, InvalidInputError, "longer than"),
        ([b"x"], (1 << 20) + 1, PayloadTooLargeError, "larger than"),
    ],
    ids=["cut-short", "longer-than-declared", "declared-over-the-limit"],
)
def test_a_body_that_does_not_match_its_length_or_limit_is_refused(
    chunks: list[bytes], length: int, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        read(chunks, length)


def test_without_a_declared_length_the_body_is_read_as_before_with_the_cap() -> None:
    assert read([b"abc", b"def"], None) == bytearray(b"abcdef")
    with pytest.raises(PayloadTooLargeError):
        read([b"x" * 600_000, b"y" * 600_000], None)
