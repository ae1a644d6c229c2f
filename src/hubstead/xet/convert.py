"""LFS objects into Xet: a file uploaded whole through LFS is cut into chunks here, exactly as the Xet client
would cut it, and packed into xorbs, so that Xet clients download it (and later uploads deduplicate against
it) like any file uploaded through Xet. Its sha256 was checked on upload, so the conversion serves every repo
that may reference the object."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from hubstead.errors import BlobNotFoundError
from hubstead.repos.lfs_pointer import blob_key
from hubstead.storage import BlobStore
from hubstead.xet import hashing
from hubstead.xet.chunking import chunk_boundaries
from hubstead.xet.services import CasService, Term
from hubstead.xet.xorb import MAX_XORB_CHUNKS, build_xorb

WINDOW = 16 * 1024 * 1024  # bytes of the object chunked at a time
XORB_BYTES = 16 * 1024 * 1024  # smaller xorbs than the 64 MiB allowed: the server's memory stays low


@dataclass
class _Packer:
    """Collects chunks into xorbs of at most 64 MiB / 8192 chunks and stores each when full."""

    cas: CasService
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
        if self.cas.has_xorb(name):
            self.cas.touch_xorbs([name])
        else:
            self.cas.store_xorb(name, data, parsed)
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
    session: Session, blobs: BlobStore, oid: str, on_xorb: Callable[[int], None] | None = None
) -> str | None:
    """Chunk LFS object ``oid`` into xorbs and record it as a Xet file; returns its Xet hash (None if it is
    already converted, not stored whole, or empty). The caller commits. ``on_xorb`` is called with the bytes
    done after each xorb is stored, and may raise to stop: the xorbs stored so far are then orphans, which garbage
    collection removes (nothing refers to them once the caller's transaction is rolled back)."""
    cas = CasService(session, blobs)
    if cas.is_converted(oid):
        return None
    packer = _Packer(cas, on_xorb)
    try:
        for chunk in _chunks(blobs, blob_key(oid)):
            packer.add(chunk)
    except BlobNotFoundError:
        return None
    packer.flush()
    if not packer.terms:
        return None
    name = hashing.hash_to_hex(hashing.file_hash(packer.leaves))
    cas.record_conversion(oid, name, sum(t.length for t in packer.terms), packer.terms, packer.leaves[0][0])
    return name
