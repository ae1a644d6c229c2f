"""Xet hashes: keyed BLAKE3 chunk hashes, the merkle aggregation behind xorb and file hashes, term
verification hashes, the hex convention of the wire, and the CRC-64/NVME of upload grants.

Hashes are 32 raw bytes as BLAKE3 produces them. On the wire they are written as four little-endian
u64 words in hex (see ``hash_to_hex``), a convention the shard's sha256 field shares.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Sequence

import blake3
import numpy as np
import numpy.typing as npt

from hubstead.errors import XetFormatError

HASH_SIZE = 32
DATA_KEY = bytes(
    [102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28,
     157, 228, 33, 16, 155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41]
)  # fmt: skip
INTERNAL_NODE_KEY = bytes(
    [1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230,
     93, 221, 83, 111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63]
)  # fmt: skip
VERIFICATION_KEY = bytes(
    [127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243,
     164, 205, 38, 213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195]
)  # fmt: skip
ZERO_KEY = bytes(HASH_SIZE)
ZERO_HASH = bytes(HASH_SIZE)

# Merkle aggregation: a group closes after a node whose last u64 is a multiple of 4 (at least 3
# members), and holds at most 2 * 4 + 1 nodes.
_MERGE_MODULUS = 4
_MAX_GROUP = 9
GLOBAL_DEDUP_MODULUS = 1024

_HEX_RE = re.compile(r"[0-9a-fA-F]{64}")
_WORDS = struct.Struct("<4Q")


def hash_to_hex(raw: bytes) -> str:
    """Wire form of a hash: each 8-byte word read little-endian, printed as 16 lowercase hex digits."""
    if len(raw) != HASH_SIZE:
        raise XetFormatError(f"a hash has {HASH_SIZE} bytes, got {len(raw)}")
    return "%016x%016x%016x%016x" % _WORDS.unpack(raw)  # noqa: UP031 - the fastest form on a hot path


def hex_to_hash(text: str) -> bytes:
    """Inverse of ``hash_to_hex``; anything but 64 hex digits is a ``XetFormatError``."""
    if not isinstance(text, str) or _HEX_RE.fullmatch(text) is None:
        raise XetFormatError(f"not a Xet hash (64 hex digits expected): {str(text)[:80]!r}")
    return _WORDS.pack(*(int(text[i : i + 16], 16) for i in range(0, 64, 16)))


def chunk_hash(data: bytes | memoryview) -> bytes:
    """Hash of one chunk's uncompressed bytes."""
    return blake3.blake3(data, key=DATA_KEY).digest()


def _merge_cut(nodes: Sequence[tuple[bytes, int]], start: int) -> int:
    """End (exclusive) of the group that starts at ``start``."""
    remaining = len(nodes) - start
    if remaining <= 2:
        return len(nodes)
    end = min(_MAX_GROUP, remaining)
    for i in range(2, end):
        # "hash % 4" in xet-core reads the last u64 word, whose low byte is byte 24.
        if nodes[start + i][0][24] % _MERGE_MODULUS == 0:
            return start + i + 1
    return start + end


def _merge(group: Sequence[tuple[bytes, int]]) -> tuple[bytes, int]:
    text = "".join(f"{hash_to_hex(h)} : {size}\n" for h, size in group)
    digest = blake3.blake3(text.encode("ascii"), key=INTERNAL_NODE_KEY).digest()
    return digest, sum(size for _, size in group)


def aggregated_hash(entries: Sequence[tuple[bytes, int]]) -> bytes:
    """Merkle aggregation of ``(hash, size)`` leaves: zeros when empty, the leaf itself when alone."""
    if not entries:
        return ZERO_HASH
    nodes: Sequence[tuple[bytes, int]] = entries
    while len(nodes) > 1:
        merged: list[tuple[bytes, int]] = []
        start = 0
        while start < len(nodes):
            end = _merge_cut(nodes, start)
            merged.append(_merge(nodes[start:end]))
            start = end
        nodes = merged
    return nodes[0][0]


def xorb_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    """Hash of a xorb from its ``(chunk_hash, uncompressed_length)`` list."""
    return aggregated_hash(chunks)


def file_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    """Hash of a file from all its ``(chunk_hash, length)`` pairs, in order (zeros for an empty file)."""
    if not chunks:
        return ZERO_HASH
    return blake3.blake3(aggregated_hash(chunks), key=ZERO_KEY).digest()


def verification_hash(chunk_hashes: Sequence[bytes]) -> bytes:
    """Range hash a shard carries for a file term: proves the uploader knows the chunks' hashes."""
    return blake3.blake3(b"".join(chunk_hashes), key=VERIFICATION_KEY).digest()


def keyed_chunk_hash(key: bytes, h: bytes) -> bytes:
    """The HMAC of a chunk hash that dedup shards carry when they have a ``chunk_hash_hmac_key``."""
    return blake3.blake3(h, key=key).digest()


def truncate(h: bytes) -> int:
    """Key of a hash in shard lookup tables: its first 8 bytes, little-endian."""
    return int.from_bytes(h[:8], "little")


def is_global_dedup_eligible(h: bytes) -> bool:
    """Whether the client asks the global dedup API about this chunk (besides first chunks of files)."""
    return int.from_bytes(h[24:32], "little") % GLOBAL_DEDUP_MODULUS == 0


def sha256_from_xet_order(stored: bytes) -> str:
    """Normal sha256 hex of the 32 bytes a shard's metadata extension stores (each word reversed)."""
    return hash_to_hex(stored)


def sha256_to_xet_order(hex_digest: str) -> bytes:
    """The 32 bytes a shard's metadata extension stores for a sha256 given as normal hex."""
    return hex_to_hash(hex_digest)


# CRC-64/NVME: reflected, polynomial 0xAD93D23594C93659, init and xorout all ones.
_CRC_MASK = (1 << 64) - 1
_CRC_POLY_REFLECTED = int(f"{0xAD93D23594C93659:064b}"[::-1], 2)
# Long inputs are cut into lanes of this many bytes, CRC'd side by side with numpy, then combined.
_CRC_LANE_BYTES = 4096
_CRC_MIN_LANES = 8


@functools.cache
def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC_POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


@functools.cache
def _crc_slice_tables() -> npt.NDArray[np.uint64]:
    """Slicing-by-8 tables: row k advances a byte through k further zero bytes."""
    base = _crc_table()
    rows = [list(base)]
    for _ in range(7):
        rows.append([(v >> 8) ^ base[v & 0xFF] for v in rows[-1]])
    return np.array(rows, dtype=np.uint64)


def _gf2_apply(matrix: Sequence[int], vector: int) -> int:
    result, bit = 0, 0
    while vector:
        if vector & 1:
            result ^= matrix[bit]
        vector >>= 1
        bit += 1
    return result


@functools.cache
def _crc_shift_tables(num_bytes: int) -> tuple[tuple[int, ...], ...]:
    """Byte-wise tables of the linear map "run the register over ``num_bytes`` zero bytes"."""
    table = _crc_table()
    matrix = [table[(1 << i) & 0xFF] ^ ((1 << i) >> 8) for i in range(64)]  # one zero byte
    steps = 1
    while steps < num_bytes:  # num_bytes is a power of two
        matrix = [_gf2_apply(matrix, column) for column in matrix]
        steps *= 2
    return tuple(tuple(_gf2_apply(matrix, b << (8 * j)) for b in range(256)) for j in range(8))


def _crc_bytes(data: memoryview, state: int) -> int:
    table = _crc_table()
    for byte in data:
        state = table[(state ^ byte) & 0xFF] ^ (state >> 8)
    return state


def _crc_lanes(data: memoryview, lanes: int, state: int) -> int:
    """Register after ``data`` (``lanes`` equal lanes), from register ``state``."""
    words = np.frombuffer(data, dtype="<u8").reshape(lanes, _CRC_LANE_BYTES // 8).T.copy()
    tables = _crc_slice_tables()
    regs = np.zeros(lanes, dtype=np.uint64)
    byte = np.empty(lanes, dtype=np.uint64)
    eight, mask = np.uint64(8), np.uint64(0xFF)
    for row in words:
        regs ^= row
        acc = tables[7][regs & mask]
        for k in range(6, -1, -1):
            regs >>= eight
            np.bitwise_and(regs, mask, out=byte)
            acc ^= tables[k][byte]
        regs = acc
    shift = _crc_shift_tables(_CRC_LANE_BYTES)
    for reg in regs.tolist():
        state = (
            shift[0][state & 0xFF] ^ shift[1][(state >> 8) & 0xFF] ^ shift[2][(state >> 16) & 0xFF]
            ^ shift[3][(state >> 24) & 0xFF] ^ shift[4][(state >> 32) & 0xFF] ^ shift[5][(state >> 40) & 0xFF]
            ^ shift[6][(state >> 48) & 0xFF] ^ shift[7][state >> 56] ^ reg
        )  # fmt: skip
    return state


def crc64nvme(data: bytes | memoryview, crc: int = 0) -> int:
    """CRC-64/NVME of ``data``; pass the CRC of what came before as ``crc`` to continue it."""
    view = memoryview(data).cast("B")
    state = crc ^ _CRC_MASK
    lanes = len(view) // _CRC_LANE_BYTES
    if lanes >= _CRC_MIN_LANES:
        state = _crc_lanes(view[: lanes * _CRC_LANE_BYTES], lanes, state)
        view = view[lanes * _CRC_LANE_BYTES :]
    return _crc_bytes(view, state) ^ _CRC_MASK
