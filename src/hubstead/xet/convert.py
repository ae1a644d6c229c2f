"""LFS objects into Xet: a file uploaded whole through LFS is cut into chunks here, exactly as the Xet client
would cut it, and packed into xorbs, so that Xet clients download it (and later uploads deduplicate against
it) like any file uploaded through Xet. Its sha256 was checked on upload, so the conversion serves every repo
that may reference the object.

No transaction stays open while the object is read and chunked: each xorb is recorded in a short transaction of
its own, and the file at the end, as an Xet client's upload does (xorbs, then the shard). On SQLite one open
write transaction would hold back every other writer of the hub for the whole conversion, its own job's
progress reports and lease renewals included."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from hubstead.errors import BlobNotFoundError
from hubstead.objects import LfsObject, blob_key
from hubstead.storage import BlobStore
from hubstead.xet import hashing
from hubstead.xet.chunking import chunk_boundaries
from hubstead.xet.services import CasService, Term
from hubstead.xet.xorb import MAX_XORB_CHUNKS, ParsedXorb, build_xorb

WINDOW = 16 * 1024 * 1024  # bytes of the object chunked at a time
XORB_BYTES = 16 * 1024 * 1024  # smaller xorbs than the 64 MiB allowed: the server's memory stays low


@dataclass
class _Packer:
    """Collects chunks into xorbs of at most 64 MiB / 8192 chunks and stores each when full."""

    keep: Callable[[str, bytes, ParsedXorb], None]  # stores one xorb (if not stored yet)
    on_xorb: Callable[[int], None] | None = None  # called with the bytes packed so far, after each xorb
    packed: int = 0
    pending: list[bytes] = field(default_factory=list)
    pending_bytes: int = 0
    terms: list[Term] = field(default_factory=list)
    leaves: list[tuple[bytes, int]] = field(default_factory=list)

    def add(self, chunk: bytes) -> None:
        if self.pending and (self.pending_bytes + len(chunk) > XORB_BYTES or len(self.pending) == MAX_XORB_CHUNKS):
            self.flush()
        self.pending.append(chunk)
        self.pending_bytes += len(chunk)

    def flush(self) -> None:
        if not self.pending:
            return
        data, parsed = build_xorb(self.pending, compress=True)
        name = hashing.hash_to_hex(parsed.hash)
        self.keep(name, data, parsed)
        self.terms.append(Term(name, 0, len(parsed.chunks), self.pending_bytes))
        self.leaves.extend((c.hash, c.unpacked_len) for c in parsed.chunks)
        self.packed += self.pending_bytes
        self.pending, self.pending_bytes = [], 0
        if self.on_xorb is not None:
            self.on_xorb(self.packed)


def _chunks(blobs: BlobStore, key: str) -> Iterator[bytes]:
    """The object's chunks, reading WINDOW bytes at a time (a cut depends only on bytes since the last cut,
    so the unfinished tail of one window is carried into the next)."""
    carry = b""
    buffer = bytearray()
    for piece in blobs.read_range(key):
        buffer += piece
        if len(buffer) < WINDOW:
            continue
        data = carry + bytes(buffer)
        buffer.clear()
        ends = chunk_boundaries(data)
        start = 0
        for end in ends[:-1]:  # the last chunk may still grow with the next window
            yield data[start:end]
            start = end
        carry = data[start:]
    data = carry + bytes(buffer)
    start = 0
    for end in chunk_boundaries(data):
        yield data[start:end]
        start = end


def convert_lfs_object(
    sessions: sessionmaker[Session], blobs: BlobStore, oid: str, on_xorb: Callable[[int], None] | None = None
) -> str | None:
    """Chunk LFS object ``oid`` into xorbs and record it as a Xet file; returns its Xet hash (None if it is
    already converted, not recorded or not stored whole, or empty). ``on_xorb`` is called with the bytes done
    after each xorb is stored, and may raise to stop. The xorbs of a conversion that stops half-way stay, as those
    of an Xet upload whose shard never came: a new attempt reuses them; garbage collection removes them after its
    grace period if nothing refers to them by then."""
    with sessions() as session:
        if session.get(LfsObject, oid) is None or CasService(session, blobs).is_converted(oid):
            return None

    def keep(name: str, data: bytes, parsed: ParsedXorb) -> None:
        with sessions.begin() as session:
            cas = CasService(session, blobs)
            if cas.has_xorb(name):
                cas.touch_xorbs([name])
            else:
                cas.store_xorb(name, data, parsed)

    packer = _Packer(keep, on_xorb)
    try:
        for chunk in _chunks(blobs, blob_key(oid)):
            packer.add(chunk)
    except BlobNotFoundError:
        return None
    packer.flush()
    if not packer.terms:
        return None
    name = hashing.hash_to_hex(hashing.file_hash(packer.leaves))
    with sessions.begin() as session:
        cas = CasService(session, blobs)
        if session.get(LfsObject, oid) is None or cas.is_converted(oid):  # deleted, or converted meanwhile
            return None
        cas.record_conversion(oid, name, sum(t.length for t in packer.terms), packer.terms, packer.leaves[0][0])
    return name
