"""``Range`` headers as download clients send them (huggingface_hub resumes with ``bytes=N-``)."""

from __future__ import annotations

import pytest

from hubstead.api.ranges import parse_range
from hubstead.errors import RangeNotSatisfiableError

SIZE = 100


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 10)),
        ("bytes=10-19", (10, 20)),
        ("bytes=99-99", (99, 100)),
        ("bytes=0-0", (0, 1)),
        ("bytes=50-", (50, SIZE)),
        ("bytes=0-", (0, SIZE)),
        ("bytes=-10", (90, SIZE)),
        ("bytes=-100", (0, SIZE)),
        ("bytes=-1000", (0, SIZE)),  # a suffix longer than the file is the whole file
        ("bytes=90-1000", (90, SIZE)),  # a last position past the end is clamped
        ("bytes = 5 - 9", (5, 10)),
    ],
)
def test_satisfiable_range_gives_start_and_exclusive_end(header: str, expected: tuple[int, int]) -> None:
    assert parse_range(header, SIZE) == expected


@pytest.mark.parametrize("header", [None, ""])
def test_no_range_header_means_the_whole_file(header: str | None) -> None:
    assert parse_range(header, SIZE) is None


@pytest.mark.parametrize(
    "header",
    ["bytes=-", "bytes=a-b", "bytes=0-9,20-29", "items=0-9", "bytes 0-9", "0-9", "bytes=0x10-", "bytes=1.5-2"],
)
def test_malformed_or_multiple_ranges_are_ignored(header: str) -> None:
    assert parse_range(header, SIZE) is None


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=500-", "bytes=-0", "bytes=20-10"])
def test_unsatisfiable_range_raises_with_the_size(header: str) -> None:
    with pytest.raises(RangeNotSatisfiableError) as excinfo:
        parse_range(header, SIZE)

    assert excinfo.value.size == SIZE


def test_any_start_is_unsatisfiable_for_an_empty_file() -> None:
    with pytest.raises(RangeNotSatisfiableError):
        parse_range("bytes=0-", 0)
