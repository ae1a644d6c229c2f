"""Serialized xorbs: a run of chunks, each an 8-byte header and a (possibly compressed) payload.

Header: ``version u8 (0) | compressed_len u24 | scheme u8 | uncompressed_len u24``, little-endian.
Schemes: 0 none, 1 LZ4 frame, 2 byte-group-4 then LZ4 frame. Clients upload xorbs without the
``XETBLOB`` footer xet-core can append; a footer, if present, is accepted and ignored.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import lz4.frame  # type: ignore[import-untyped]

from hubstead.errors import XetFormatError
from hubstead.xet.hashing import chunk_hash, hash_to_hex, xorb_hash

MAX_XORB_CHUNKS = 8192
MAX_CHUNK_SIZE = 128 * 1024
MAX_COMPRESSED_CHUNK_SIZE = 2 * MAX_CHUNK_SIZE
MAX_XORB_UNPACKED = 64 * 1024 * 1024
CHUNK_HEADER_SIZE = 8
# Limits are on uncompressed bytes, so the chunk region of a full xorb of incompressible data is the
# data plus one header per chunk; a legacy footer (about 40 bytes per chunk) may follow.
MAX_XORB_CHUNK_REGION = MAX_XORB_UNPACKED + CHUNK_HEADER_SIZE * MAX_XORB_CHUNKS
MAX_XORB_FOOTER = 512 * 1024
MAX_XORB_SERIALIZED = MAX_XORB_CHUNK_REGION + MAX_XORB_FOOTER

SCHEME_NONE = 0
SCHEME_LZ4 = 1
SCHEME_BG4_LZ4 = 2
_SCHEMES = (SCHEME_NONE, SCHEME_LZ4, SCHEME_BG4_LZ4)
CHUNK_VERSION = 0
FOOTER_MAGIC = b"XETBLOB"

_HEADER = struct.Struct("<II")


@dataclass(frozen=True)
class XorbChunk:
    """One chunk of a xorb; ``end_offset`` is where it ends (header included) in the serialized xorb."""

    hash: bytes
    unpacked_len: int
    end_offset: int


@dataclass(frozen=True)
class ParsedXorb:
    """A validated xorb; ``data_length`` is the byte length of its chunks, without any footer."""

    hash: bytes
    chunks: tuple[XorbChunk, ...]
    data_length: int


@dataclass(frozen=True)
class _RawChunk:
    payload: bytes | memoryview
    end_offset: int


def _lz4_decompress(payload: memoryview, expected: int, where: str) -> bytes:
    decoder = lz4.frame.LZ4FrameDecompressor()
    try:
        # One byte more than announced, so an overlong frame shows as a length mismatch, not a bomb.
        out: bytes = decoder.decompress(payload, max_length=expected + 1)
    except RuntimeError as exc:
        raise XetFormatError(f"{where}: invalid LZ4 frame ({exc})") from exc
    if not decoder.eof:
        raise XetFormatError(f"{where}: LZ4 frame is truncated or longer than the {expected} bytes announced")
    if decoder.unused_data:
        raise XetFormatError(f"{where}: {len(decoder.unused_data)} bytes after the end of the LZ4 frame")
    if len(out) != expected:
        raise XetFormatError(f"{where}: decompresses to {len(out)} bytes, header says {expected}")
    return out


def byte_group4(data: bytes) -> bytes:
    """Split into 4 groups by position modulo 4 (BG4), concatenated; the inverse of ``byte_ungroup4``."""
    return b"".join(data[k::4] for k in range(4))


def byte_ungroup4(grouped: bytes) -> bytes:
    """Interleave back the 4 groups of ``byte_group4``."""
    n = len(grouped)
    split, rem = divmod(n, 4)
    out = bytearray(n)
    start = 0
    for k in range(4):
        size = split + (1 if k < rem else 0)
        out[k::4] = grouped[start : start + size]
        start += size
    return bytes(out)


def _decode_payload(payload: memoryview, scheme: int, unpacked_len: int, where: str) -> bytes | memoryview:
    if scheme == SCHEME_NONE:
        if len(payload) != unpacked_len:
            raise XetFormatError(f"{where}: uncompressed chunk of {len(payload)} bytes, header says {unpacked_len}")
        return payload
    data = _lz4_decompress(payload, unpacked_len, where)
    return data if scheme == SCHEME_LZ4 else byte_ungroup4(data)


def _read_header(view: memoryview, pos: int) -> tuple[int, int, int]:
    """(compressed_len, scheme, unpacked_len) of the chunk header at ``pos``, validated."""
    if len(view) - pos < CHUNK_HEADER_SIZE:
        raise XetFormatError(f"truncated chunk header at offset {pos}: {len(view) - pos} bytes left")
    first, second = _HEADER.unpack_from(view, pos)
    version, compressed_len = first & 0xFF, first >> 8
    scheme, unpacked_len = second & 0xFF, second >> 8
    if version != CHUNK_VERSION:
        raise XetFormatError(f"chunk at offset {pos}: unsupported chunk version {version}")
    if scheme not in _SCHEMES:
        raise XetFormatError(f"chunk at offset {pos}: unknown compression scheme {scheme}")
    if unpacked_len > MAX_CHUNK_SIZE:
        raise XetFormatError(f"chunk at offset {pos}: {unpacked_len} bytes uncompressed, over {MAX_CHUNK_SIZE}")
    if compressed_len > MAX_COMPRESSED_CHUNK_SIZE:
        raise XetFormatError(f"chunk at offset {pos}: {compressed_len} bytes compressed, over the limit")
    return compressed_len, scheme, unpacked_len


def _iter_chunks(view: memoryview) -> Iterator[_RawChunk]:
    """Decoded chunks of a serialized run, stopping at the end or at a ``XETBLOB`` footer."""
    pos = 0
    while pos < len(view):
        if view[pos : pos + len(FOOTER_MAGIC)] == FOOTER_MAGIC:
            return
        compressed_len, scheme, unpacked_len = _read_header(view, pos)
        start, end = pos + CHUNK_HEADER_SIZE, pos + CHUNK_HEADER_SIZE + compressed_len
        if end > len(view):
            raise XetFormatError(
                f"truncated chunk at offset {pos}: header says {compressed_len} bytes, {len(view) - start} left"
            )
        yield _RawChunk(_decode_payload(view[start:end], scheme, unpacked_len, f"chunk at offset {pos}"), end)
        pos = end


def decode_chunks(data: bytes | memoryview) -> Iterator[bytes]:
    """Uncompressed payloads of a run of serialized chunks (e.g. a byte range of a stored xorb)."""
    for raw in _iter_chunks(memoryview(data).cast("B")):
        yield bytes(raw.payload)


def parse_xorb(data: bytes | memoryview, expected_hash: bytes | None = None) -> ParsedXorb:
    """Validate a serialized xorb (framing, compression, limits, hashes) and describe its chunks.

    Raises ``XetFormatError`` on any problem, including a hash other than ``expected_hash``."""
    view = memoryview(data).cast("B")
    if len(view) > MAX_XORB_SERIALIZED:
        raise XetFormatError(f"xorb of {len(view)} bytes is over the {MAX_XORB_SERIALIZED}-byte limit")
    chunks: list[XorbChunk] = []
    unpacked_total, data_length = 0, 0
    for raw in _iter_chunks(view):
        if len(chunks) == MAX_XORB_CHUNKS:
            raise XetFormatError(f"xorb has more than {MAX_XORB_CHUNKS} chunks")
        unpacked_total += len(raw.payload)
        if unpacked_total > MAX_XORB_UNPACKED:
            raise XetFormatError(f"xorb holds more than {MAX_XORB_UNPACKED} bytes uncompressed")
        chunks.append(XorbChunk(chunk_hash(raw.payload), len(raw.payload), raw.end_offset))
        data_length = raw.end_offset
    if not chunks:
        raise XetFormatError("xorb has no chunks")
    if data_length > MAX_XORB_CHUNK_REGION:
        raise XetFormatError(f"xorb chunks take {data_length} bytes, over the {MAX_XORB_CHUNK_REGION}-byte limit")
    computed = xorb_hash([(c.hash, c.unpacked_len) for c in chunks])
    if expected_hash is not None and computed != expected_hash:
        raise XetFormatError(
            f"xorb hash mismatch: expected {hash_to_hex(expected_hash)}, content hashes to {hash_to_hex(computed)}"
        )
    return ParsedXorb(computed, tuple(chunks), data_length)


def _encode_header(compressed_len: int, scheme: int, unpacked_len: int) -> bytes:
    return _HEADER.pack(CHUNK_VERSION | compressed_len << 8, scheme | unpacked_len << 8)


def serialize_chunk(payload: bytes, scheme: int = SCHEME_NONE) -> bytes:
    """One serialized chunk (header + payload) with exactly the given compression scheme."""
    if len(payload) > MAX_CHUNK_SIZE:
        raise XetFormatError(f"chunk of {len(payload)} bytes is over {MAX_CHUNK_SIZE}")
    if scheme == SCHEME_NONE:
        body = payload
    elif scheme == SCHEME_LZ4:
        body = lz4.frame.compress(payload)
    elif scheme == SCHEME_BG4_LZ4:
        body = lz4.frame.compress(byte_group4(payload))
    else:
        raise XetFormatError(f"unknown compression scheme {scheme}")
    if len(body) > MAX_COMPRESSED_CHUNK_SIZE:
        raise XetFormatError(f"chunk compresses to {len(body)} bytes, over the limit")
    return _encode_header(len(body), scheme, len(payload)) + body


def _best_chunk(payload: bytes) -> bytes:
    """LZ4 if it shrinks the chunk, otherwise stored as is (the client's own fallback)."""
    compressed = serialize_chunk(payload, SCHEME_LZ4)
    return compressed if len(compressed) < CHUNK_HEADER_SIZE + len(payload) else serialize_chunk(payload)


def build_xorb(payloads: Sequence[bytes], compress: bool = False) -> tuple[bytes, ParsedXorb]:
    """Serialize chunk payloads into a xorb (no footer) and describe it as ``parse_xorb`` would."""
    if not payloads:
        raise XetFormatError("xorb has no chunks")
    if len(payloads) > MAX_XORB_CHUNKS:
        raise XetFormatError(f"xorb has more than {MAX_XORB_CHUNKS} chunks")
    if sum(len(p) for p in payloads) > MAX_XORB_UNPACKED:
        raise XetFormatError(f"xorb holds more than {MAX_XORB_UNPACKED} bytes uncompressed")
    parts: list[bytes] = []
    chunks: list[XorbChunk] = []
    offset = 0
    for payload in payloads:
        part = _best_chunk(payload) if compress else serialize_chunk(payload)
        offset += len(part)
        parts.append(part)
        chunks.append(XorbChunk(chunk_hash(payload), len(payload), offset))
    computed = xorb_hash([(c.hash, c.unpacked_len) for c in chunks])
    return b"".join(parts), ParsedXorb(computed, tuple(chunks), offset)
