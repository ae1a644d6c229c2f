"""Xorb parsing: framing, LZ4 and BG4 chunks, hashes and limits; every corruption is a XetFormatError."""

from __future__ import annotations

import random
import struct

import lz4.frame  # type: ignore[import-untyped]
import pytest

from hubstead.errors import XetFormatError
from hubstead.xet.hashing import chunk_hash, hash_to_hex, xorb_hash
from hubstead.xet.xorb import (
    MAX_XORB_CHUNKS,
    MAX_XORB_SERIALIZED,
    ParsedXorb,
    XorbChunk,
    build_xorb,
    byte_group4,
    byte_ungroup4,
    decode_chunks,
    parse_xorb,
    serialize_chunk,
)

RNG = random.Random(42)
PAYLOADS = [RNG.randbytes(n) for n in (1000, 70_000, 131_072, 5)]


def header(compressed_len: int, scheme: int, unpacked_len: int, version: int = 0) -> bytes:
    return struct.pack("<II", version | compressed_len << 8, scheme | unpacked_len << 8)


def raw_chunk(payload: bytes) -> bytes:
    return header(len(payload), 0, len(payload)) + payload


def text_payload(size: int) -> bytes:
    words = [b"tensor", b"weight", b"bias", b"layer", b"norm", b"0.125", b"attention"]
    out = bytearray()
    while len(out) < size:
        out += RNG.choice(words) + b" "
    return bytes(out[:size])


def test_build_then_parse_round_trips() -> None:
    data, built = build_xorb(PAYLOADS)
    parsed = parse_xorb(data, expected_hash=built.hash)
    assert parsed == built
    assert parsed.data_length == len(data) == sum(len(p) + 8 for p in PAYLOADS)
    assert parsed.hash == xorb_hash([(chunk_hash(p), len(p)) for p in PAYLOADS])
    assert [c.end_offset for c in parsed.chunks] == [1008, 71_016, 202_096, 202_109]
    assert parsed.chunks[0] == XorbChunk(chunk_hash(PAYLOADS[0]), 1000, 1008)


def test_parse_accepts_memoryview_slices() -> None:
    data, built = build_xorb(PAYLOADS)
    assert parse_xorb(memoryview(b"xx" + data)[2:]) == built


def test_known_xorb_hash_of_one_chunk() -> None:
    data, built = build_xorb([b"hello"])
    # a one-chunk xorb's hash is its chunk hash
    assert hash_to_hex(built.hash) == hash_to_hex(chunk_hash(b"hello"))
    assert data == bytes([0, 5, 0, 0, 0, 5, 0, 0]) + b"hello"


def test_compressed_build_uses_lz4_when_it_shrinks() -> None:
    text = text_payload(100_000)
    noise = RNG.randbytes(20_000)
    data, built = build_xorb([text, noise], compress=True)
    assert data[4] == 1  # LZ4 for text
    assert data[built.chunks[0].end_offset + 4] == 0  # stored as is when compression does not help
    assert len(data) < 100_000
    assert parse_xorb(data, built.hash) == built
    assert list(decode_chunks(data)) == [text, noise]


def test_lz4_frame_chunk_decodes() -> None:
    payload = text_payload(60_000)
    body = lz4.frame.compress(payload)
    data = header(len(body), 1, len(payload)) + body + raw_chunk(b"tail")
    parsed = parse_xorb(data)
    assert parsed.chunks[0] == XorbChunk(chunk_hash(payload), 60_000, 8 + len(body))
    assert parsed.hash == xorb_hash([(chunk_hash(payload), 60_000), (chunk_hash(b"tail"), 4)])
    assert list(decode_chunks(data)) == [payload, b"tail"]


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 6, 7, 65_537, 131_072])
def test_byte_grouping_round_trips(size: int) -> None:
    data = RNG.randbytes(size)
    assert byte_ungroup4(byte_group4(data)) == data


def test_byte_grouping_layout() -> None:
    assert byte_group4(b"abcdefghij") == b"aei" + b"bfj" + b"cg" + b"dh"
    assert byte_ungroup4(b"aeibfjcgdh") == b"abcdefghij"


def test_bg4_lz4_chunk_decodes() -> None:
    floats = struct.pack("<4001f", *(i * 0.5 for i in range(4001)))  # 16004 bytes, not a multiple of 8
    body = lz4.frame.compress(b"".join(floats[k::4] for k in range(4)))
    data = header(len(body), 2, len(floats)) + body
    parsed = parse_xorb(data)
    assert parsed.chunks == (XorbChunk(chunk_hash(floats), len(floats), len(data)),)
    assert list(decode_chunks(data)) == [floats]


@pytest.mark.parametrize("scheme", [0, 1, 2])
def test_serialize_chunk_round_trips_every_scheme(scheme: int) -> None:
    payload = text_payload(33_333)
    chunk = serialize_chunk(payload, scheme)
    assert chunk[4] == scheme
    assert list(decode_chunks(chunk)) == [payload]


def test_trailing_footer_is_ignored() -> None:
    data, built = build_xorb(PAYLOADS[:2])
    footer = b"XETBLOB\x01" + built.hash + b"XBLBHSH\x00" + bytes(100)
    parsed = parse_xorb(data + footer, expected_hash=built.hash)
    assert parsed == built
    assert parsed.data_length == len(data)


def test_decode_chunks_of_a_byte_range() -> None:
    data, built = build_xorb(PAYLOADS)
    start, end = built.chunks[0].end_offset, built.chunks[2].end_offset
    assert list(decode_chunks(data[start:end])) == PAYLOADS[1:3]


def test_wrong_expected_hash_is_refused() -> None:
    data, _ = build_xorb(PAYLOADS[:1])
    with pytest.raises(XetFormatError, match="hash mismatch"):
        parse_xorb(data, expected_hash=bytes(32))


def corrupt(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


GOOD, _ = build_xorb([b"a" * 100, b"b" * 200])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no chunks"),
        (GOOD[:-1], "truncated chunk"),
        (GOOD[:112], "truncated chunk header"),
        (GOOD[:5], "truncated chunk header"),
        (corrupt(GOOD, 0, b"\x01"), "version"),
        (corrupt(GOOD, 108, b"\x01"), "version"),
        (corrupt(GOOD, 4, b"\x03"), "compression scheme"),
        (corrupt(GOOD, 4, b"\x01"), "LZ4"),  # the raw bytes are no LZ4 frame
        (corrupt(GOOD, 5, b"\x63"), "header says 99"),  # uncompressed length differs from the payload's
        (header(0, 0, 131_073), "over 131072"),
        (header(300_000, 1, 1000) + bytes(300_000), "compressed"),
        (GOOD + b"X", "truncated chunk header"),
    ],
)
def test_malformed_xorbs_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(XetFormatError, match=message):
        parse_xorb(data)


def test_lz4_frame_with_wrong_length_is_refused() -> None:
    body = lz4.frame.compress(b"z" * 1000)
    with pytest.raises(XetFormatError, match="header says 999"):
        parse_xorb(header(len(body), 1, 999) + body)
    with pytest.raises(XetFormatError):
        parse_xorb(header(len(body), 1, 1001) + body)


def test_truncated_lz4_frame_is_refused() -> None:
    body = lz4.frame.compress(RNG.randbytes(5000))[:-10]
    with pytest.raises(XetFormatError, match="LZ4"):
        parse_xorb(header(len(body), 1, 5000) + body)


def test_bytes_after_the_lz4_frame_are_refused() -> None:
    body = lz4.frame.compress(b"q" * 500) + b"junk"
    with pytest.raises(XetFormatError, match="after the end of the LZ4 frame"):
        parse_xorb(header(len(body), 1, 500) + body)


def test_too_many_chunks_are_refused() -> None:
    one = raw_chunk(b"c")
    assert len(parse_xorb(one * MAX_XORB_CHUNKS).chunks) == MAX_XORB_CHUNKS
    with pytest.raises(XetFormatError, match="more than 8192 chunks"):
        parse_xorb(one * (MAX_XORB_CHUNKS + 1))


def test_more_than_64_mib_uncompressed_is_refused() -> None:
    chunk = raw_chunk(bytes(131_072))
    assert parse_xorb(chunk * 512).data_length == 512 * (131_072 + 8)
    with pytest.raises(XetFormatError, match="uncompressed"):
        parse_xorb(chunk * 513)


def test_oversized_body_is_refused_before_parsing() -> None:
    with pytest.raises(XetFormatError, match="limit"):
        parse_xorb(bytes(MAX_XORB_SERIALIZED + 1))


def test_build_refuses_what_parse_would_refuse() -> None:
    with pytest.raises(XetFormatError):
        build_xorb([])
    with pytest.raises(XetFormatError):
        build_xorb([bytes(131_073)])
    with pytest.raises(XetFormatError):
        serialize_chunk(b"x", 7)


def test_parsed_xorb_is_frozen() -> None:
    _, built = build_xorb([b"x"])
    assert isinstance(built, ParsedXorb)
    with pytest.raises(AttributeError):
        built.data_length = 3  # type: ignore[misc]
