"""Shards: the upload form round-trips, dedup answers carry a footer, sorted lookups and keyed hashes,
and every malformed shard is a XetFormatError."""

from __future__ import annotations

import hashlib
import random
import struct

import pytest

from hubstead.errors import XetFormatError
from hubstead.xet.hashing import file_hash, keyed_chunk_hash, sha256_to_xet_order, truncate, verification_hash
from hubstead.xet.shard import (
    CHUNK_GLOBAL_DEDUP_FLAG,
    SHARD_HEADER_TAG,
    FileEntry,
    FileTerm,
    ParsedShard,
    XorbInfo,
    build_shard,
    parse_shard,
)
from hubstead.xet.xorb import build_xorb

RNG = random.Random(5)


def make_xorb(sizes: list[int]) -> tuple[XorbInfo, list[tuple[bytes, int]]]:
    _, parsed = build_xorb([RNG.randbytes(n) for n in sizes])
    chunks, position = [], 0
    for c in parsed.chunks:
        chunks.append((c.hash, position, c.unpacked_len))
        position += c.unpacked_len
    return XorbInfo(parsed.hash, tuple(chunks), position), [(c.hash, c.unpacked_len) for c in parsed.chunks]


XORB_A, LEAVES_A = make_xorb([1000, 2000, 3000, 4000])
XORB_B, LEAVES_B = make_xorb([500, 600])


def term(info: XorbInfo, start: int, end: int) -> FileTerm:
    return FileTerm(info.xorb_hash, sum(c[2] for c in info.chunks[start:end]), start, end)


def entry(
    terms: list[FileTerm], leaves: list[tuple[bytes, int]], *, verify: bool = True, sha: bool = True
) -> FileEntry:
    verification = None
    if verify:
        by_xorb = {XORB_A.xorb_hash: XORB_A, XORB_B.xorb_hash: XORB_B}
        verification = tuple(
            verification_hash([c[0] for c in by_xorb[t.xorb_hash].chunks[t.chunk_start : t.chunk_end]]) for t in terms
        )
    digest = hashlib.sha256(repr(leaves).encode()).hexdigest() if sha else None
    return FileEntry(file_hash(leaves), tuple(terms), verification, digest)


FILE_1 = entry([term(XORB_A, 0, 2), term(XORB_B, 0, 2), term(XORB_A, 3, 4)], LEAVES_A[:2] + LEAVES_B + LEAVES_A[3:])
FILE_2 = entry([term(XORB_A, 1, 4)], LEAVES_A[1:])
EMPTY_FILE = entry([], [])


def test_upload_form_round_trips() -> None:
    data = build_shard([FILE_1, FILE_2, EMPTY_FILE], [XORB_A, XORB_B], with_footer=False)
    assert data[:32] == SHARD_HEADER_TAG
    assert struct.unpack_from("<QQ", data, 32) == (2, 0)
    # header + file records (1+3+3+1, 1+1+1+1, 1+0+0+1) + bookend + xorbs (1+4, 1+2) + bookend, 48 bytes each
    assert len(data) == 48 * (1 + 8 + 4 + 2 + 1 + 5 + 3 + 1)
    assert parse_shard(data) == ParsedShard((FILE_1, FILE_2, EMPTY_FILE), (XORB_A, XORB_B))


def test_file_flags_and_sha256_bytes_on_the_wire() -> None:
    data = build_shard([FILE_2], [], with_footer=False)
    assert struct.unpack_from("<II", data, 48 + 32) == (0xC0000000, 1)
    assert FILE_2.sha256 is not None
    assert data[48 + 3 * 48 : 48 + 3 * 48 + 32] == sha256_to_xet_order(FILE_2.sha256)


def test_files_without_verification_or_sha256() -> None:
    plain = entry([term(XORB_B, 0, 1)], LEAVES_B[:1], verify=False, sha=False)
    data = build_shard([plain], [], with_footer=False)
    assert struct.unpack_from("<I", data, 48 + 32) == (0,)
    assert parse_shard(data).files == (plain,)


def test_repeated_file_keeps_its_first_record() -> None:
    data = build_shard([FILE_2, FILE_2], [], with_footer=False)
    assert parse_shard(data).files == (FILE_2,)


def read_table(data: bytes, offset: int, count: int, fmt: str) -> list[tuple[int, ...]]:
    size = struct.calcsize(fmt)
    return [struct.unpack_from(fmt, data, offset + i * size) for i in range(count)]


def test_dedup_form_has_footer_lookups_and_keyed_hashes() -> None:
    key = bytes(range(1, 33))
    data = build_shard([], [XORB_A, XORB_B], with_footer=True, hmac_key=key, expiry=1_900_000_000, created=1_800)
    assert struct.unpack_from("<Q", data, 40) == (200,)
    parsed = parse_shard(data)
    footer = parsed.footer
    assert footer is not None
    assert (footer.hmac_key, footer.expiry, footer.created) == (key, 1_900_000_000, 1_800)
    assert footer.footer_offset == len(data) - 200
    assert (footer.file_info_offset, footer.xorb_info_offset) == (48, 96)
    assert (footer.stored_bytes, footer.materialized_bytes) == (10_000 + 1_100, 0)
    assert parsed.files == ()
    keyed = [keyed_chunk_hash(key, c[0]) for c in XORB_A.chunks]
    assert [c[0] for c in parsed.xorbs[0].chunks] == keyed
    assert [c[1:] for c in parsed.xorbs[0].chunks] == [c[1:] for c in XORB_A.chunks]

    chunk_rows = read_table(data, footer.chunk_lookup_offset, footer.chunk_lookup_count, "<QII")
    assert [row[0] for row in chunk_rows] == sorted(row[0] for row in chunk_rows)
    assert footer.chunk_lookup_count == 6
    expected = {(truncate(h), 0, i) for i, h in enumerate(keyed)}
    expected |= {(truncate(keyed_chunk_hash(key, c[0])), 5, i) for i, c in enumerate(XORB_B.chunks)}
    assert set(chunk_rows) == expected
    xorb_rows = read_table(data, footer.xorb_lookup_offset, footer.xorb_lookup_count, "<QI")
    assert set(xorb_rows) == {(truncate(XORB_A.xorb_hash), 0), (truncate(XORB_B.xorb_hash), 5)}


def test_dedup_form_without_key_keeps_clear_hashes_and_file_lookup() -> None:
    data = build_shard([FILE_1, FILE_2], [XORB_A], with_footer=True, expiry=5)
    parsed = parse_shard(data)
    assert parsed.footer is not None
    assert parsed.footer.hmac_key is None
    assert parsed.files == (FILE_1, FILE_2)
    assert parsed.xorbs == (XORB_A,)
    rows = read_table(data, parsed.footer.file_lookup_offset, parsed.footer.file_lookup_count, "<QI")
    assert set(rows) == {(truncate(FILE_1.file_hash), 0), (truncate(FILE_2.file_hash), 8)}
    assert parsed.footer.materialized_bytes == sum(t.unpacked_bytes for f in (FILE_1, FILE_2) for t in f.terms)


def test_chunk_flags_are_written() -> None:
    first = XORB_A.chunks[0][0]
    data = build_shard([], [XORB_A], with_footer=True, chunk_flags={first: CHUNK_GLOBAL_DEDUP_FLAG})
    flags = [struct.unpack_from("<I", data, 96 + 48 * (1 + i) + 40)[0] for i in range(4)]
    assert flags == [CHUNK_GLOBAL_DEDUP_FLAG, 0, 0, 0]


def test_hmac_key_needs_the_footer() -> None:
    with pytest.raises(XetFormatError):
        build_shard([], [XORB_A], with_footer=False, hmac_key=bytes(range(32)))


UPLOAD = build_shard([FILE_1], [XORB_B], with_footer=False)
BOOKEND_AT = 48 + 48 * 8  # FILE_1 takes 8 records


def with_u32(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack("<I", value) + data[offset + 4 :]


def with_u64(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack("<Q", value) + data[offset + 8 :]


MIXED = build_shard([FILE_2, entry([term(XORB_B, 0, 1)], LEAVES_B[:1], verify=False)], [], with_footer=False)
DEDUP = build_shard([], [XORB_A], with_footer=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated shard"),
        (UPLOAD[:47], "truncated shard"),
        (b"X" + UPLOAD[1:], "wrong header tag"),
        (with_u64(UPLOAD, 32, 1), "unsupported shard version 1"),
        (with_u64(UPLOAD, 32, 3), "unsupported shard version 3"),
        (with_u64(UPLOAD, 40, 100), "100-byte footer"),
        (with_u64(UPLOAD, 40, 200)[:300], "truncated shard"),
        (UPLOAD[:-1], "truncated shard"),
        (UPLOAD[:BOOKEND_AT], "truncated shard"),
        (UPLOAD[:200], "records need"),
        (with_u32(UPLOAD, 48 + 36, 0xFFFF_FFFF), "records need"),
        (with_u32(UPLOAD, BOOKEND_AT + 48 + 36, 0x00FF_FFFF), "records need"),
        (MIXED, "only some files"),
        (UPLOAD + bytes(48), "unexpected bytes"),
        (with_u32(UPLOAD, 48 + 48 + 40, 5), "empty chunk range"),  # first term: chunk_start 5 >= chunk_end 2
        (with_u32(UPLOAD, BOOKEND_AT + 48 + 40, 123), "xorb .* bytes, header says 123"),
        (with_u32(UPLOAD, BOOKEND_AT + 2 * 48 + 32, 7), "starts at 7"),
        (with_u64(DEDUP, len(DEDUP) - 200, 2), "footer version 2"),
        (with_u64(DEDUP, len(DEDUP) - 8, 12), "footer says it starts at 12"),
        (with_u64(DEDUP, len(DEDUP) - 200 + 16, 144), "do not match"),
        (with_u64(DEDUP, len(DEDUP) - 200 + 64, 10_000), "lookup tables"),
    ],
)
def test_malformed_shards_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(XetFormatError, match=message):
        parse_shard(data)


def test_size_limit() -> None:
    assert parse_shard(UPLOAD, max_size=len(UPLOAD)).files == (FILE_1,)
    with pytest.raises(XetFormatError, match="limit"):
        parse_shard(UPLOAD, max_size=len(UPLOAD) - 1)


def test_num_entries_bound_is_checked_against_the_bytes_left() -> None:
    """A huge claimed entry count is refused up front rather than read record by record."""
    claimed = with_u32(UPLOAD, 48 + 36, 10_000_000)
    with pytest.raises(XetFormatError, match="20000001 records need 960000048 bytes"):
        parse_shard(claimed)
