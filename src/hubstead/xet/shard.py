"""MDB shards: the file reconstructions and xorb chunk lists a client registers, and the dedup answers
the CAS sends back.

Layout: a 48-byte header, a file-info section and a xorb-info section (48-byte records, each section
closed by a bookend), then, only in shards with a footer, lookup tables and a 200-byte footer.
Uploaded shards have ``footer_size = 0``; dedup responses must have the footer (the client seeks to it).
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hubstead.errors import XetFormatError
from hubstead.xet.hashing import (
    HASH_SIZE,
    hash_to_hex,
    keyed_chunk_hash,
    sha256_from_xet_order,
    sha256_to_xet_order,
    truncate,
)

SHARD_HEADER_TAG = b"HFRepoMetaData" + bytes(
    [0, 85, 105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169]
)
SHARD_VERSION = 2
FOOTER_VERSION = 1
HEADER_SIZE = 48
ENTRY_SIZE = 48
FOOTER_SIZE = 200
MAX_SHARD_SIZE = 80 * 1024 * 1024  # clients cut shards at 64 MiB
FILE_FLAG_WITH_VERIFICATION = 1 << 31
FILE_FLAG_WITH_METADATA_EXT = 1 << 30
CHUNK_GLOBAL_DEDUP_FLAG = 1 << 31
BOOKEND_HASH = b"\xff" * HASH_SIZE
BOOKEND = BOOKEND_HASH + bytes(ENTRY_SIZE - HASH_SIZE)
NO_HMAC_KEY = bytes(HASH_SIZE)

_HEADER = struct.Struct("<32sQQ")
_FILE_HEADER = struct.Struct("<32sIIQ")  # file_hash, flags, num_entries, unused
_FILE_TERM = struct.Struct("<32sIIII")  # xorb_hash, xorb_flags, unpacked_bytes, chunk_start, chunk_end
_TERM_FIELDS = struct.Struct("<32s4xIII")  # the same record, in FileTerm's field order
_HASH_RECORD = struct.Struct("<32s16x")  # verification range hash, or metadata-ext sha256
_XORB_HEADER = struct.Struct("<32sIIII")  # xorb_hash, flags, num_entries, bytes_in_xorb, bytes_on_disk
_XORB_CHUNK = struct.Struct("<32sIIII")  # chunk_hash, unpacked start, unpacked_bytes, flags, unused
_FOOTER = struct.Struct("<9Q32s2Q48x4Q")
_LOOKUP = struct.Struct("<QI")  # file and xorb lookup tables
_CHUNK_LOOKUP = struct.Struct("<QII")


@dataclass(frozen=True)
class FileTerm:
    """A run ``[chunk_start, chunk_end)`` of one xorb's chunks, ``unpacked_bytes`` long."""

    xorb_hash: bytes
    unpacked_bytes: int
    chunk_start: int
    chunk_end: int


@dataclass(frozen=True)
class FileEntry:
    """A file's reconstruction; ``verification`` holds one range hash per term, ``sha256`` is normal hex."""

    file_hash: bytes
    terms: tuple[FileTerm, ...]
    verification: tuple[bytes, ...] | None
    sha256: str | None


@dataclass(frozen=True)
class XorbInfo:
    """A xorb's chunks as ``(chunk_hash, uncompressed start offset, unpacked length)``."""

    xorb_hash: bytes
    chunks: tuple[tuple[bytes, int, int], ...]
    unpacked_bytes: int
    bytes_on_disk: int = 0  # clients send 0


@dataclass(frozen=True)
class ShardFooter:
    """The footer of a shard that has one (dedup responses, stored shards)."""

    file_info_offset: int
    xorb_info_offset: int
    file_lookup_offset: int
    file_lookup_count: int
    xorb_lookup_offset: int
    xorb_lookup_count: int
    chunk_lookup_offset: int
    chunk_lookup_count: int
    hmac_key: bytes | None
    created: int
    expiry: int
    stored_bytes_on_disk: int
    materialized_bytes: int
    stored_bytes: int
    footer_offset: int


@dataclass(frozen=True)
class ParsedShard:
    files: tuple[FileEntry, ...]
    xorbs: tuple[XorbInfo, ...]
    footer: ShardFooter | None = None


class _Reader:
    """Cursor over the sections of a shard; every read is bounds-checked."""

    def __init__(self, view: memoryview, pos: int) -> None:
        self.view, self.pos = view, pos

    @property
    def remaining(self) -> int:
        return len(self.view) - self.pos

    def take(self, size: int, what: str) -> memoryview:
        if size > self.remaining:
            raise XetFormatError(
                f"truncated shard: {what} at offset {self.pos} needs {size} bytes, {self.remaining} left"
            )
        out = self.view[self.pos : self.pos + size]
        self.pos += size
        return out

    def take_records(self, count: int, what: str) -> memoryview:
        """``count`` 48-byte records, refused before anything is read if they can't fit."""
        size = count * ENTRY_SIZE
        if size > self.remaining:
            raise XetFormatError(
                f"{what} at offset {self.pos}: {count} records need {size} bytes, only {self.remaining} left"
            )
        return self.take(size, what)


# --- parsing ------------------------------------------------------------------------------------


def _parse_header(view: memoryview) -> int:
    """The footer size the header announces, validated against the body."""
    if len(view) < HEADER_SIZE:
        raise XetFormatError(f"truncated shard: {len(view)} bytes, the header alone is {HEADER_SIZE}")
    tag, version, footer_size = _HEADER.unpack_from(view, 0)
    if tag != SHARD_HEADER_TAG:
        raise XetFormatError("not a shard: wrong header tag")
    if version != SHARD_VERSION:
        raise XetFormatError(f"unsupported shard version {version} (expected {SHARD_VERSION})")
    if footer_size not in (0, FOOTER_SIZE):
        raise XetFormatError(f"shard header announces a {footer_size}-byte footer (0 or {FOOTER_SIZE} expected)")
    if footer_size and len(view) < HEADER_SIZE + 2 * ENTRY_SIZE + FOOTER_SIZE:
        raise XetFormatError(f"truncated shard: {len(view)} bytes cannot hold its sections and footer")
    return int(footer_size)


def _parse_terms(records: memoryview, file_hex: str) -> tuple[FileTerm, ...]:
    terms = tuple(itertools.starmap(FileTerm, _TERM_FIELDS.iter_unpack(records)))
    for index, term in enumerate(terms):
        if term.chunk_start >= term.chunk_end:
            raise XetFormatError(
                f"file {file_hex} term {index}: empty chunk range [{term.chunk_start}, {term.chunk_end})"
            )
    return terms


def _parse_file(reader: _Reader) -> FileEntry | None:
    """The next file record, or None at the section's bookend."""
    file_hash, flags, count, _ = _FILE_HEADER.unpack(reader.take(ENTRY_SIZE, "file header"))
    if file_hash == BOOKEND_HASH:
        return None
    file_hex = hash_to_hex(file_hash)
    with_verification = bool(flags & FILE_FLAG_WITH_VERIFICATION)
    with_sha256 = bool(flags & FILE_FLAG_WITH_METADATA_EXT)
    records = count * (2 if with_verification else 1) + (1 if with_sha256 else 0)
    block = reader.take_records(records, f"file {file_hex}")
    terms = _parse_terms(block[: count * ENTRY_SIZE], file_hex)
    verification = None
    if with_verification:
        verification = tuple(h for (h,) in _HASH_RECORD.iter_unpack(block[count * ENTRY_SIZE : 2 * count * ENTRY_SIZE]))
    sha256 = sha256_from_xet_order(bytes(block[-ENTRY_SIZE:][:HASH_SIZE])) if with_sha256 else None
    return FileEntry(file_hash, terms, verification, sha256)


def _parse_file_section(reader: _Reader) -> tuple[FileEntry, ...]:
    files: dict[bytes, FileEntry] = {}
    flags_seen: set[bool] = set()
    while (entry := _parse_file(reader)) is not None:
        flags_seen.add(entry.verification is not None)
        files.setdefault(entry.file_hash, entry)  # as xet-core: a repeated file keeps its first record
    if len(flags_seen) > 1:
        raise XetFormatError("only some files of the shard carry verification entries (all or none)")
    return tuple(files.values())


def _parse_xorb_chunks(records: memoryview, xorb_hex: str) -> tuple[tuple[tuple[bytes, int, int], ...], int]:
    chunks = []
    position = 0
    for index, (chunk, start, unpacked, _flags, _unused) in enumerate(_XORB_CHUNK.iter_unpack(records)):
        if start != position:
            raise XetFormatError(f"xorb {xorb_hex} chunk {index}: starts at {start}, previous chunks end at {position}")
        chunks.append((chunk, start, unpacked))
        position += unpacked
    return tuple(chunks), position


def _parse_xorb(reader: _Reader) -> XorbInfo | None:
    """The next xorb record, or None at the section's bookend."""
    xorb, _flags, count, in_xorb, on_disk = _XORB_HEADER.unpack(reader.take(ENTRY_SIZE, "xorb header"))
    if xorb == BOOKEND_HASH:
        return None
    xorb_hex = hash_to_hex(xorb)
    chunks, total = _parse_xorb_chunks(reader.take_records(count, f"xorb {xorb_hex}"), xorb_hex)
    if total != in_xorb:
        raise XetFormatError(f"xorb {xorb_hex}: chunks hold {total} bytes, header says {in_xorb}")
    return XorbInfo(xorb, chunks, in_xorb, on_disk)


def _parse_xorb_section(reader: _Reader) -> tuple[XorbInfo, ...]:
    xorbs = []
    while (info := _parse_xorb(reader)) is not None:
        xorbs.append(info)
    return tuple(xorbs)


def _parse_footer(view: memoryview) -> ShardFooter:
    start = len(view) - FOOTER_SIZE
    fields = _FOOTER.unpack_from(view, start)
    version, key, footer_offset = fields[0], fields[9], fields[15]
    if version != FOOTER_VERSION:
        raise XetFormatError(f"unsupported shard footer version {version} (expected {FOOTER_VERSION})")
    if footer_offset != start:
        raise XetFormatError(f"shard footer says it starts at {footer_offset}, it starts at {start}")
    footer = ShardFooter(
        file_info_offset=fields[1],
        xorb_info_offset=fields[2],
        file_lookup_offset=fields[3],
        file_lookup_count=fields[4],
        xorb_lookup_offset=fields[5],
        xorb_lookup_count=fields[6],
        chunk_lookup_offset=fields[7],
        chunk_lookup_count=fields[8],
        hmac_key=key if key != NO_HMAC_KEY else None,
        created=fields[10],
        expiry=fields[11],
        stored_bytes_on_disk=fields[12],
        materialized_bytes=fields[13],
        stored_bytes=fields[14],
        footer_offset=footer_offset,
    )
    _check_lookup_layout(footer)
    return footer


def _check_lookup_layout(footer: ShardFooter) -> None:
    tables = [
        (footer.file_lookup_offset, footer.file_lookup_count * _LOOKUP.size),
        (footer.xorb_lookup_offset, footer.xorb_lookup_count * _LOOKUP.size),
        (footer.chunk_lookup_offset, footer.chunk_lookup_count * _CHUNK_LOOKUP.size),
    ]
    position = footer.xorb_info_offset
    for offset, size in tables:
        if offset < position or offset + size > footer.footer_offset:
            raise XetFormatError("shard footer: lookup tables overlap the sections or the footer")
        position = offset + size
    if footer.file_info_offset != HEADER_SIZE:
        raise XetFormatError(f"shard footer: file section at {footer.file_info_offset}, expected {HEADER_SIZE}")


def _check_sections_against_footer(footer: ShardFooter, xorb_start: int, xorb_end: int) -> None:
    if footer.xorb_info_offset != xorb_start or footer.file_lookup_offset != xorb_end:
        raise XetFormatError("shard footer offsets do not match the sections")


def parse_shard(data: bytes | memoryview, *, max_size: int = MAX_SHARD_SIZE) -> ParsedShard:
    """Parse and check the framing of a shard (upload form or with footer).

    Semantic checks that need the stored xorbs (term ranges, verification hashes) are the caller's."""
    view = memoryview(data).cast("B")
    if len(view) > max_size:
        raise XetFormatError(f"shard of {len(view)} bytes is over the {max_size}-byte limit")
    footer_size = _parse_header(view)
    footer = _parse_footer(view) if footer_size else None
    reader = _Reader(view[: len(view) - footer_size], HEADER_SIZE)
    files = _parse_file_section(reader)
    xorb_start = reader.pos
    xorbs = _parse_xorb_section(reader)
    if footer is not None:
        _check_sections_against_footer(footer, xorb_start, reader.pos)
    elif reader.remaining:
        raise XetFormatError(f"{reader.remaining} unexpected bytes after the shard's xorb section")
    return ParsedShard(files, xorbs, footer)


# --- building -----------------------------------------------------------------------------------


def _file_record(entry: FileEntry) -> bytes:
    flags = 0
    if entry.verification is not None:
        if len(entry.verification) != len(entry.terms):
            raise XetFormatError(f"file {hash_to_hex(entry.file_hash)}: one verification hash per term expected")
        flags |= FILE_FLAG_WITH_VERIFICATION
    if entry.sha256 is not None:
        flags |= FILE_FLAG_WITH_METADATA_EXT
    parts = [_FILE_HEADER.pack(entry.file_hash, flags, len(entry.terms), 0)]
    parts += [_FILE_TERM.pack(t.xorb_hash, 0, t.unpacked_bytes, t.chunk_start, t.chunk_end) for t in entry.terms]
    parts += [_HASH_RECORD.pack(h) for h in entry.verification or ()]
    if entry.sha256 is not None:
        parts.append(_HASH_RECORD.pack(sha256_to_xet_order(entry.sha256)))
    return b"".join(parts)


def _xorb_record(info: XorbInfo, stored_hashes: Sequence[bytes], chunk_flags: Mapping[bytes, int]) -> bytes:
    parts = [_XORB_HEADER.pack(info.xorb_hash, 0, len(info.chunks), info.unpacked_bytes, info.bytes_on_disk)]
    for (raw, start, length), stored in zip(info.chunks, stored_hashes, strict=True):
        parts.append(_XORB_CHUNK.pack(stored, start, length, chunk_flags.get(raw, 0), 0))
    return b"".join(parts)


@dataclass(frozen=True)
class _Lookups:
    files: list[tuple[int, int]]
    xorbs: list[tuple[int, int]]
    chunks: list[tuple[int, int, int]]


def _lookups(files: Sequence[FileEntry], xorbs: Sequence[XorbInfo], stored: Sequence[Sequence[bytes]]) -> _Lookups:
    """Sorted lookup tables; indexes count 48-byte records from the start of their section."""
    file_rows, index = [], 0
    for entry in files:
        file_rows.append((truncate(entry.file_hash), index))
        extra = (len(entry.terms) if entry.verification is not None else 0) + (1 if entry.sha256 is not None else 0)
        index += 1 + len(entry.terms) + extra
    xorb_rows, chunk_rows, index = [], [], 0
    for info, hashes in zip(xorbs, stored, strict=True):
        xorb_rows.append((truncate(info.xorb_hash), index))
        chunk_rows += [(truncate(h), index, position) for position, h in enumerate(hashes)]
        index += 1 + len(info.chunks)
    return _Lookups(sorted(file_rows, key=_by_key), sorted(xorb_rows, key=_by_key), sorted(chunk_rows, key=_by_key))


def _by_key(row: tuple[int, ...]) -> int:
    """Sort on the truncated hash only (a stable sort, as xet-core's)."""
    return row[0]


def _footer_bytes(
    offsets: Sequence[int], lookups: _Lookups, totals: Sequence[int], key: bytes, times: Sequence[int]
) -> bytes:
    file_info, xorb_info, file_lookup, xorb_lookup, chunk_lookup, footer_offset = offsets
    return _FOOTER.pack(
        FOOTER_VERSION, file_info, xorb_info,
        file_lookup, len(lookups.files), xorb_lookup, len(lookups.xorbs), chunk_lookup, len(lookups.chunks),
        key, *times, *totals, footer_offset,
    )  # fmt: skip


def build_shard(
    files: Sequence[FileEntry],
    xorbs: Sequence[XorbInfo],
    *,
    with_footer: bool,
    hmac_key: bytes | None = None,
    expiry: int = 0,
    chunk_flags: Mapping[bytes, int] | None = None,
    created: int = 0,
) -> bytes:
    """Serialize a shard: the upload form (``footer_size = 0``), or with lookup tables and footer.

    With ``hmac_key`` every chunk hash of the xorb section (and of the chunk lookup table) is replaced by
    its keyed hash. ``chunk_flags`` maps raw chunk hashes to their flags (``CHUNK_GLOBAL_DEDUP_FLAG``)."""
    if hmac_key is not None and (not with_footer or len(hmac_key) != HASH_SIZE or hmac_key == NO_HMAC_KEY):
        raise XetFormatError("an HMAC key is 32 non-zero bytes and needs the footer")
    stored = [[keyed_chunk_hash(hmac_key, c[0]) if hmac_key else c[0] for c in x.chunks] for x in xorbs]
    file_section = b"".join(_file_record(f) for f in files) + BOOKEND
    xorb_section = b"".join(_xorb_record(x, s, chunk_flags or {}) for x, s in zip(xorbs, stored, strict=True))
    xorb_section += BOOKEND
    header = _HEADER.pack(SHARD_HEADER_TAG, SHARD_VERSION, FOOTER_SIZE if with_footer else 0)
    if not with_footer:
        return header + file_section + xorb_section
    lookups = _lookups(files, xorbs, stored)
    tables = [
        b"".join(_LOOKUP.pack(*row) for row in lookups.files),
        b"".join(_LOOKUP.pack(*row) for row in lookups.xorbs),
        b"".join(_CHUNK_LOOKUP.pack(*row) for row in lookups.chunks),
    ]
    xorb_info = HEADER_SIZE + len(file_section)
    file_lookup = xorb_info + len(xorb_section)
    xorb_lookup = file_lookup + len(tables[0])
    chunk_lookup = xorb_lookup + len(tables[1])
    footer_offset = chunk_lookup + len(tables[2])
    totals = (
        sum(x.bytes_on_disk for x in xorbs),
        sum(t.unpacked_bytes for f in files for t in f.terms),
        sum(x.unpacked_bytes for x in xorbs),
    )
    offsets = (HEADER_SIZE, xorb_info, file_lookup, xorb_lookup, chunk_lookup, footer_offset)
    footer = _footer_bytes(offsets, lookups, totals, hmac_key or NO_HMAC_KEY, (created, expiry))
    return header + file_section + xorb_section + b"".join(tables) + footer
