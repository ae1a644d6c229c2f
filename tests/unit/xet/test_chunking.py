"""Content-defined chunking: the same chunks, hence the same file hashes, as the real client (hf_xet)."""

from __future__ import annotations

import random
from pathlib import Path

import hf_xet
import pytest

from hubstead.xet.chunking import (
    GEAR_TABLE,
    MAX_CHUNK_SIZE,
    MIN_CHUNK_SIZE,
    chunk_boundaries,
    xet_file_hash_of,
)

RNG = random.Random(11)


def naive_boundaries(data: bytes) -> list[int]:
    """The client's algorithm byte by byte: the reference the vectorised version must equal."""
    ends, h, start = [], 0, 0
    for i, byte in enumerate(data):
        h = ((h << 1) + GEAR_TABLE[byte]) & 0xFFFF_FFFF_FFFF_FFFF
        size = i + 1 - start
        if size >= MIN_CHUNK_SIZE and (h & 0xFFFF_0000_0000_0000 == 0 or size >= MAX_CHUNK_SIZE):
            ends.append(i + 1)
            start, h = i + 1, 0
    if start < len(data):
        ends.append(len(data))
    return ends


CASES = {
    "random": RNG.randbytes(3_000_000),
    "repetitive": (b"abcdefghij" * 7 + b"\n") * 40_000,
    "zeros": bytes(1_000_000),
    "text": " ".join(str(i) for i in range(300_000)).encode(),
    "tiny": b"hello world" * 11,
    "one_byte": b"x",
    "empty": b"",
    "min_chunk": RNG.randbytes(MIN_CHUNK_SIZE),
    "min_chunk_plus_one": RNG.randbytes(MIN_CHUNK_SIZE + 1),
    "max_chunk_plus_one": bytes(MAX_CHUNK_SIZE + 1),
}


def test_gear_table_is_rust_gearhash_default_table() -> None:
    assert len(GEAR_TABLE) == 256
    assert (GEAR_TABLE[0], GEAR_TABLE[1], GEAR_TABLE[255]) == (
        0xB088D3A9E840F559,
        0x5652C7F739ED20D6,
        0x63C7A906C1DD187B,
    )
    assert sum(GEAR_TABLE) % 2**64 == 0xC1ACB37EF35C570A


@pytest.mark.parametrize("name", CASES)
def test_file_hash_matches_hf_xet(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(CASES[name])
    [info] = hf_xet.hash_files([str(path)])
    assert xet_file_hash_of(CASES[name]) == info.hash


def test_known_file_hashes() -> None:
    # values computed by hf_xet 1.8.0 `hash_files`
    assert xet_file_hash_of(b"") == "0" * 64
    assert xet_file_hash_of(b"hello world" * 11) == "3210dc2cd4b6ae3f59c6366263e764256b7b62a5eeb65df393c3001cdddcaa9c"
    assert xet_file_hash_of(bytes(1_000_000)) == "c0c85185f4307d40facfd366573176e54fc9c76041e44e32d52489780a6d1eaa"


@pytest.mark.parametrize("name", ["random", "repetitive", "text", "min_chunk_plus_one", "max_chunk_plus_one"])
def test_boundaries_equal_the_byte_by_byte_algorithm(name: str) -> None:
    data = CASES[name][:400_000]
    assert chunk_boundaries(data) == naive_boundaries(data)


def test_chunk_sizes_stay_within_limits() -> None:
    ends = chunk_boundaries(CASES["random"])
    sizes = [b - a for a, b in zip([0, *ends], ends, strict=False)]
    assert ends[-1] == len(CASES["random"])
    assert all(MIN_CHUNK_SIZE <= s <= MAX_CHUNK_SIZE for s in sizes[:-1])
    assert 20 < len(sizes) < 120  # about 64 KiB on average


def test_zeros_are_cut_at_the_maximum() -> None:
    assert chunk_boundaries(bytes(300_000)) == [131_072, 262_144, 300_000]


def test_empty_and_tiny_inputs() -> None:
    assert chunk_boundaries(b"") == []
    assert chunk_boundaries(b"abc") == [3]
    assert chunk_boundaries(memoryview(b"abcdef")[1:]) == [5]
