"""The CAS: xorbs checked and stored in the BlobStore, shards checked and turned into files, which repo may
reference which file, reconstructions for clients and bytes for everyone else."""

from __future__ import annotations

import os
import re
import secrets
import struct
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.orm import Session

from hubstead.api.ranges import parse_range
from hubstead.db.base import utcnow
from hubstead.db.upsert import insert_ignoring_duplicates
from hubstead.errors import (
    AuthenticationError,
    EntryNotFoundError,
    InvalidInputError,
    PermissionDeniedError,
    XetFormatError,
)
from hubstead.objects import LfsObject, RepoLfsObject, RepoObjects
from hubstead.objects.signing import UrlSigner
from hubstead.repos.models import Repo
from hubstead.storage import BlobStore
from hubstead.xet import hashing
from hubstead.xet.models import XetDedupChunk, XetFile, XetFileXorb, XetLfsConversion, XetRepoFile, XetXorb
from hubstead.xet.shard import FileEntry, XorbInfo, build_shard, parse_shard
from hubstead.xet.tokens import CasGrant
from hubstead.xet.xorb import ParsedXorb, decode_chunks, parse_xorb

CHUNK_RECORD = struct.Struct("<32sII")  # chunk hash, end offset in the stored xorb, uncompressed length
TERM_RECORD = struct.Struct("<32sIII")  # xorb hash, first chunk, end chunk (exclusive), uncompressed length
READ_SPAN = 8 * 1024 * 1024  # server-side reconstruction reads stored xorbs this much at a time
DEDUP_SHARD_DAYS = 14  # how long a client may keep a global-dedup answer
ORPHAN_BATCH = 500  # storage keys looked up in one query by garbage collection
DEDUP_XORBS = 64  # xorbs described in one global-dedup answer (~4 GiB of a file, ~3 MiB of answer)


def new_xorb_key(xorb_hex: str) -> str:
    """A fresh place for an upload of this xorb (see XetXorb.storage_key)."""
    return xorb_key(f"{xorb_hex}.{secrets.token_hex(6)}")


def xorb_key(object_name: str) -> str:
    """``object_name`` is ``<xorb hash>.<upload nonce>``, as in the signed xorb URLs."""
    return f"xet/xorbs/{object_name[:2]}/{object_name}"


def object_name(storage_key: str) -> str:
    return storage_key.rsplit("/", 1)[-1]


def shard_key(shard_hex: str) -> str:
    return f"xet/shards/{shard_hex[:2]}/{shard_hex}"


def grant_key(xorb_hex: str, grant_id: str) -> str:
    return f"xet/grants/{xorb_hex}-{grant_id}"


def xorb_path(storage_key: str, spans: Sequence[tuple[int, int]]) -> str:
    """Where clients fetch byte ranges of a stored xorb: signed, since they send no credentials there, and for
    the byte ranges ``spans`` (inclusive) only. A xorb may hold chunks of files of other repos (global
    deduplication lets a file use another upload's xorb): the URL a reconstruction hands out reads just the
    chunks of the file it describes."""
    ranges = ",".join(f"{start}-{end}" for start, end in spans)
    return f"/api/hubstead/xet/xorbs/{object_name(storage_key)}?ranges={ranges}"


MAX_SIGNED_RANGES = 4096
_SPAN = re.compile(r"^(\d{1,15})-(\d{1,15})$")
_SINGLE_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d{1,15})\s*-\s*(\d{1,15})\s*$")


def signed_spans(value: str | None) -> list[tuple[int, int]]:
    """The byte ranges a xorb URL was signed for (see xorb_path); without valid ones it is not a signed URL."""
    parts = (value or "").split(",")
    matches = [_SPAN.match(p) for p in parts[: MAX_SIGNED_RANGES + 1]]
    if not value or len(parts) > MAX_SIGNED_RANGES or not all(matches):
        raise PermissionDeniedError("This xorb URL is not signed: it names no valid byte ranges")
    return [(int(m.group(1)), int(m.group(2))) for m in matches if m]


def check_xorb_range(range_header: str | None, spans: Sequence[tuple[int, int]]) -> None:
    """A xorb URL reads one byte range at a time, within the ranges it was signed for."""
    match = _SINGLE_RANGE.match(range_header or "")
    if match is None:
        raise PermissionDeniedError("A xorb URL reads one byte range (Range: bytes=a-b) of those it was issued for")
    start, end = int(match.group(1)), int(match.group(2))
    if not any(lo <= start <= end <= hi for lo, hi in spans):
        raise PermissionDeniedError("This xorb URL was not issued for that byte range")


def check_hex(value: str, what: str) -> str:
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise InvalidInputError(f"Invalid {what} hash {value[:80]!r}: expected 64 lowercase hex characters")
    return value


@dataclass(frozen=True)
class StoredChunk:
    hash: bytes
    end_offset: int  # where the chunk (header included) ends in the stored xorb
    length: int  # uncompressed


@dataclass(frozen=True)
class StoredXorb:
    key: str
    chunks: list[StoredChunk]


@dataclass(frozen=True)
class Term:
    xorb: str
    start: int  # chunk index
    end: int  # exclusive
    length: int  # uncompressed bytes


@dataclass(frozen=True)
class Piece:
    """Part of a term that a byte range needs: whole chunks [start, end) of ``xorb``."""

    xorb: str
    start: int
    end: int
    length: int
    file_offset: int  # where its first chunk starts in the file


@dataclass(frozen=True)
class XetRef:
    file_hash: str
    size: int


def pack_chunks(chunks: Iterable[tuple[bytes, int, int]]) -> bytes:
    return b"".join(CHUNK_RECORD.pack(h, end, length) for h, end, length in chunks)


def unpack_chunks(data: bytes) -> list[StoredChunk]:
    return [StoredChunk(h, end, length) for h, end, length in CHUNK_RECORD.iter_unpack(data)]


def pack_terms(terms: Iterable[Term]) -> bytes:
    return b"".join(TERM_RECORD.pack(hashing.hex_to_hash(t.xorb), t.start, t.end, t.length) for t in terms)


def unpack_terms(data: bytes) -> list[Term]:
    return [Term(hashing.hash_to_hex(h), s, e, n) for h, s, e, n in TERM_RECORD.iter_unpack(data)]


def plan_range(terms: Sequence[Term], chunk_lengths: dict[str, list[int]], start: int, end: int) -> list[Piece]:
    """The whole chunks that cover file bytes [start, end): terms before ``start`` are skipped, leading chunks
    of the first term that end at or before it dropped, and trailing chunks of the last one that begin at or
    after ``end``."""
    pieces: list[Piece] = []
    position = 0
    for term in terms:
        term_end = position + term.length
        if term_end <= start:
            position = term_end
            continue
        if position >= end:
            break
        lengths = chunk_lengths[term.xorb][term.start : term.end]
        first, offset = 0, position
        while offset + lengths[first] <= start:
            offset += lengths[first]
            first += 1
        last, tail = len(lengths), term_end
        while last - 1 > first and tail - lengths[last - 1] >= end:
            tail -= lengths[last - 1]
            last -= 1
        pieces.append(Piece(term.xorb, term.start + first, term.start + last, tail - offset, offset))
        position = term_end
    return pieces


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Chunk ranges of one xorb, sorted, overlapping or touching ones merged (so each term fits in one)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def byte_span(chunks: Sequence[StoredChunk], start: int, end: int) -> tuple[int, int]:
    """Stored bytes [first, last] (inclusive, as clients expect) of chunks [start, end)."""
    return (chunks[start - 1].end_offset if start else 0), chunks[end - 1].end_offset - 1


class CasService:
    """Never commits; the caller's unit of work does. Xorb bytes reach the BlobStore only once checked, and
    their row only after the bytes are durable."""

    def __init__(self, session: Session, blobs: BlobStore, signer: UrlSigner | None = None) -> None:
        self.session = session
        self.blobs = blobs
        self._signer = signer

    @property
    def signer(self) -> UrlSigner:
        assert self._signer is not None, "signing xorb URLs needs the hub's UrlSigner"
        return self._signer

    def require_repo(self, grant: CasGrant) -> None:
        """A token opens the CAS only while its repo exists: the same id and the same uid, so neither a new repo
        under the deleted one's name nor one given its id (SQLite, before ids were never reused) is opened."""
        live = select(Repo.id).where(Repo.id == grant.repo_id, Repo.uid == grant.repo_uid)
        if self.session.scalar(live) is None:
            raise AuthenticationError("This CAS access token's repo no longer exists")

    # --- xorbs --------------------------------------------------------------------------------

    def has_xorb(self, xorb_hex: str) -> bool:
        return self.session.get(XetXorb, xorb_hex) is not None

    @staticmethod
    def check_xorb(xorb_hex: str, data: bytes | bytearray | memoryview) -> ParsedXorb:
        """Every chunk decompressed and hashed, the xorb hash recomputed (XetFormatError otherwise)."""
        return parse_xorb(memoryview(data), expected_hash=hashing.hex_to_hash(check_hex(xorb_hex, "xorb")))

    def store_xorb(self, xorb_hex: str, data: bytes | bytearray | memoryview, parsed: ParsedXorb) -> bool:
        """Keep a checked xorb; False if it was already stored (uploads are idempotent)."""
        if self.session.get(XetXorb, xorb_hex) is not None:
            self.touch_xorbs([xorb_hex])
            return False
        body = memoryview(data)[: parsed.data_length]
        key = new_xorb_key(xorb_hex)
        writer = self.blobs.open_writer(key)
        try:
            writer.write(body)
            writer.commit()
        except BaseException:
            writer.abort()
            raise
        inserted = self._record_xorb(xorb_hex, key, parsed)
        if not inserted:  # a concurrent upload of the same xorb won: its copy is the one recorded
            self.blobs.delete(key)
        return inserted

    def _record_xorb(self, xorb_hex: str, key: str, parsed: ParsedXorb) -> bool:
        now = utcnow()
        inserted = insert_ignoring_duplicates(
            self.session,
            XetXorb,
            [
                {
                    "hash": xorb_hex,
                    "storage_key": key,
                    "size": parsed.data_length,
                    "unpacked_size": sum(c.unpacked_len for c in parsed.chunks),
                    "num_chunks": len(parsed.chunks),
                    "chunks": pack_chunks((c.hash, c.end_offset, c.unpacked_len) for c in parsed.chunks),
                    "created_at": now,
                    "used_at": now,
                }
            ],
        )
        eligible = [c.hash for c in parsed.chunks if hashing.is_global_dedup_eligible(c.hash)]
        self._index_chunks(xorb_hex, eligible)
        return inserted > 0

    def _index_chunks(self, xorb_hex: str, chunk_hashes: Iterable[bytes]) -> None:
        rows = [{"chunk_hash": hashing.hash_to_hex(h), "xorb_hash": xorb_hex} for h in dict.fromkeys(chunk_hashes)]
        if rows:
            insert_ignoring_duplicates(self.session, XetDedupChunk, rows)

    def xorb_size(self, xorb_hex: str) -> int | None:
        return self.session.scalar(select(XetXorb.size).where(XetXorb.hash == xorb_hex))

    def touch_xorbs(self, xorb_hexes: Iterable[str]) -> None:
        """Mark xorbs as just used, so that garbage collection keeps them while the upload finishes."""
        hexes = list(dict.fromkeys(xorb_hexes))
        if hexes:
            self.session.execute(update(XetXorb).where(XetXorb.hash.in_(hexes)).values(used_at=utcnow()))

    def xorb_chunks(self, xorb_hexes: Iterable[str]) -> dict[str, list[StoredChunk]]:
        return {h: x.chunks for h, x in self.stored_xorbs(xorb_hexes).items()}

    def stored_xorbs(self, xorb_hexes: Iterable[str]) -> dict[str, StoredXorb]:
        hexes = list(dict.fromkeys(xorb_hexes))
        rows = self.session.execute(
            select(XetXorb.hash, XetXorb.storage_key, XetXorb.chunks).where(XetXorb.hash.in_(hexes))
        ).all()
        return {h: StoredXorb(key, unpack_chunks(chunks)) for h, key, chunks in rows}

    # --- shards: files and who may reference them ---------------------------------------------

    def register_shard(self, repo_pk: int, data: bytes | bytearray | memoryview) -> int:
        """Check a shard's files against the stored xorbs and record them for ``repo_pk``. Returns how many
        files were new. All or nothing: the first problem raises and nothing is recorded."""
        shard = parse_shard(memoryview(data))
        needed = {hashing.hash_to_hex(t.xorb_hash) for f in shard.files for t in f.terms}
        chunks = self.xorb_chunks(needed)
        missing = sorted(needed - chunks.keys())
        if missing:
            raise InvalidInputError(f"The shard references xorb {missing[0]}, which was not uploaded")
        files = [self._check_file(f, chunks) for f in shard.files]
        new = 0
        for entry, terms in files:
            new += self._record_file(repo_pk, entry, terms, chunks)
        self.touch_xorbs(needed)
        self.session.flush()
        # the shard as received, named as clients name shards: a record of what was registered (the rows above
        # are what serves); small next to the xorbs it describes
        self.blobs.put(shard_key(hashing.hash_to_hex(hashing.chunk_hash(memoryview(data)))), bytes(data))
        return new

    @staticmethod
    def _check_file(entry: FileEntry, chunks: dict[str, list[StoredChunk]]) -> tuple[FileEntry, list[Term]]:
        name = hashing.hash_to_hex(entry.file_hash)
        if entry.terms and entry.verification is None:
            raise XetFormatError(f"File {name}: terms come without verification hashes")
        terms: list[Term] = []
        leaves: list[tuple[bytes, int]] = []
        for number, term in enumerate(entry.terms):
            xorb = hashing.hash_to_hex(term.xorb_hash)
            stored = chunks[xorb]
            if not term.chunk_start < term.chunk_end <= len(stored):
                raise XetFormatError(
                    f"File {name}, term {number}: chunks [{term.chunk_start}, {term.chunk_end}) are not in "
                    f"xorb {xorb} ({len(stored)} chunks)"
                )
            span = stored[term.chunk_start : term.chunk_end]
            length = sum(c.length for c in span)
            if length != term.unpacked_bytes:
                raise XetFormatError(
                    f"File {name}, term {number}: {term.unpacked_bytes} bytes claimed, the chunks hold {length}"
                )
            assert entry.verification is not None
            if entry.verification[number] != hashing.verification_hash([c.hash for c in span]):
                raise XetFormatError(f"File {name}, term {number}: the verification hash does not match the chunks")
            terms.append(Term(xorb, term.chunk_start, term.chunk_end, length))
            leaves.extend((c.hash, c.length) for c in span)
        if hashing.file_hash(leaves) != entry.file_hash:
            raise XetFormatError(f"File {name}: the file hash does not match its chunks")
        return entry, terms

    def _record_file(
        self, repo_pk: int, entry: FileEntry, terms: list[Term], chunks: dict[str, list[StoredChunk]]
    ) -> int:
        name = hashing.hash_to_hex(entry.file_hash)
        size = sum(t.length for t in terms)
        first = chunks[terms[0].xorb][terms[0].start].hash if terms else None
        new = self._record_terms(name, size, terms, first)
        if entry.sha256 is not None:
            self._link_repo(repo_pk, entry.sha256, name, size)
        return new

    def _record_terms(self, name: str, size: int, terms: list[Term], first_chunk: bytes | None) -> int:
        """Record a file and, for global deduplication, the xorb of its first chunk (every file's first chunk
        is one clients ask about)."""
        if terms and first_chunk is not None:
            self._index_chunks(terms[0].xorb, [first_chunk])
        new = insert_ignoring_duplicates(
            self.session,
            XetFile,
            [{"hash": name, "size": size, "terms": pack_terms(terms), "created_at": utcnow()}],
        )
        if new:
            insert_ignoring_duplicates(
                self.session,
                XetFileXorb,
                [{"file_hash": name, "xorb_hash": x} for x in dict.fromkeys(t.xorb for t in terms)],
            )
        return new

    def _link_repo(self, repo_pk: int, sha256: str, file_hash: str, size: int) -> None:
        """Repo ``repo_pk`` may now commit LFS pointers to ``sha256``, whose bytes are ``file_hash``. The sha256
        is the uploader's claim, checked against nothing: it serves this repo alone, and never becomes a
        verified object (LfsObject) that other repos' uploads would be measured against."""
        verified = RepoObjects(self.session, self.blobs).verified_sizes(repo_pk, [sha256]).get(sha256)
        if verified is not None and verified != size:
            raise XetFormatError(
                f"sha256 {sha256} names a file of this repository with another size than the {size} bytes uploaded"
            )
        current = self.session.get(XetRepoFile, (repo_pk, sha256))
        if current is None:
            insert_ignoring_duplicates(
                self.session,
                XetRepoFile,
                [{"repo_id": repo_pk, "sha256": sha256, "file_hash": file_hash, "size": size, "created_at": utcnow()}],
            )
        elif current.file_hash != file_hash:
            current.file_hash, current.size = file_hash, size  # the repo's own label, given to new bytes
        self.session.flush()

    # --- what a repo's LFS objects are in Xet -------------------------------------------------

    def find_for_repo(self, repo_pk: int, sha256: str) -> XetRef | None:
        """The Xet file holding LFS object ``sha256`` for this repo: uploaded through Xet for it, or an LFS
        upload (which the repo may reference) converted to Xet."""
        found = self.xet_hashes(repo_pk, [sha256])
        return found.get(sha256)

    def xet_hashes(self, repo_pk: int, sha256s: Sequence[str]) -> dict[str, XetRef]:
        wanted = list(dict.fromkeys(sha256s))
        if not wanted:
            return {}
        params = {"repo": repo_pk, "shas": wanted}
        out = {sha: XetRef(h, size) for sha, h, size in self.session.execute(_REPO_FILES, params)}
        if len(out) < len(wanted):
            params["shas"] = [s for s in wanted if s not in out]
            out |= {sha: XetRef(h, size) for sha, h, size in self.session.execute(_CONVERTED, params)}
        return out

    def repo_references_file(self, repo_pk: int, file_hash: str) -> bool:
        direct = exists().where(XetRepoFile.repo_id == repo_pk, XetRepoFile.file_hash == file_hash)
        converted = (
            exists()
            .where(XetLfsConversion.file_hash == file_hash)
            .where(RepoLfsObject.oid == XetLfsConversion.sha256, RepoLfsObject.repo_id == repo_pk)
        )
        return bool(self.session.scalar(select(direct | converted)))

    def get_file(self, file_hash: str) -> tuple[int, list[Term]]:
        row = self.session.get(XetFile, file_hash)
        if row is None:
            raise EntryNotFoundError(f"Xet file {file_hash} not found")
        return row.size, unpack_terms(row.terms)

    # --- reconstructions ----------------------------------------------------------------------

    def reconstruction(
        self, repo_pk: int, file_hex: str, range_header: str | None, base_url: str, version: int
    ) -> dict[str, Any]:
        """How a client rebuilds a file, or the bytes its ``Range`` header asks for: terms, and signed URLs of
        the xorb byte ranges to fetch. v1 has ``fetch_info``, v2 ``xorbs``."""
        check_hex(file_hex, "file")
        if not self.repo_references_file(repo_pk, file_hex):
            raise EntryNotFoundError(f"Xet file {file_hex} not found")
        size, terms = self.get_file(file_hex)
        start, end = (0, size) if size == 0 else (parse_range(range_header, size) or (0, size))
        stored, pieces = self._plan(terms, start, end)
        chunks = {x: s.chunks for x, s in stored.items()}
        out_terms = [
            {"hash": p.xorb, "unpacked_length": p.length, "range": {"start": p.start, "end": p.end}} for p in pieces
        ]
        by_xorb: dict[str, list[tuple[int, int]]] = {}
        for p in pieces:
            by_xorb.setdefault(p.xorb, []).append((p.start, p.end))
        fetch: dict[str, Any] = {}
        for xorb, ranges in by_xorb.items():
            spans = [(r, byte_span(chunks[xorb], *r)) for r in merge_ranges(ranges)]
            url = base_url + self.signer.sign(xorb_path(stored[xorb].key, [b for _, b in spans]))
            if version == 1:
                fetch[xorb] = [
                    {
                        "range": {"start": s, "end": e},
                        "url": url,
                        "url_range": {"start": bs, "end": be},
                    }
                    for (s, e), (bs, be) in spans
                ]
            else:
                fetch[xorb] = [
                    {
                        "url": url,
                        "ranges": [
                            {"chunks": {"start": s, "end": e}, "bytes": {"start": bs, "end": be}}
                            for (s, e), (bs, be) in spans
                        ],
                    }
                ]
        offset = start - pieces[0].file_offset if pieces else 0
        body: dict[str, Any] = {"offset_into_first_range": offset, "terms": out_terms}
        body["fetch_info" if version == 1 else "xorbs"] = fetch
        return body

    def read_file(self, file_hash: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes [start, end) of a Xet file, rebuilt here (for clients that don't speak Xet)."""
        size, terms = self.get_file(file_hash)
        end = min(end, size)
        if end <= start:
            return iter(())
        stored, pieces = self._plan(terms, start, end)
        return _rebuild(self.blobs, stored, pieces, start, end)

    def _plan(self, terms: list[Term], start: int, end: int) -> tuple[dict[str, StoredXorb], list[Piece]]:
        """The stored xorbs a file's terms name, and the pieces of them that bytes [start, end) need."""
        stored = self.stored_xorbs(t.xorb for t in terms)
        if end <= start:
            return stored, []
        lengths = {x: [c.length for c in s.chunks] for x, s in stored.items()}
        return stored, plan_range(terms, lengths, start, end)

    # --- global deduplication -----------------------------------------------------------------

    def dedup_shard(self, chunk_hex: str) -> bytes | None:
        """A shard (with footer) describing the xorb that holds this chunk and its neighbours in a file that uses
        it (a new version of a file shares most of its xorbs with the old one, and clients only ask about a
        few of its chunks), every chunk hash keyed with a fresh random key: a client learns only which of the
        chunks it already has are stored."""
        check_hex(chunk_hex, "chunk")
        xorb = self.session.scalar(select(XetDedupChunk.xorb_hash).where(XetDedupChunk.chunk_hash == chunk_hex))
        if xorb is None:
            return None
        names = self._neighbours(xorb)
        rows = {r.hash: r for r in self.session.scalars(select(XetXorb).where(XetXorb.hash.in_(names)))}
        if xorb not in rows:
            return None
        infos = []
        for name in (n for n in names if n in rows):
            row = rows[name]
            row.used_at = utcnow()  # the client may now count on it: garbage collection must wait
            position, described = 0, []
            for c in unpack_chunks(row.chunks):
                described.append((c.hash, position, c.length))
                position += c.length
            infos.append(XorbInfo(hashing.hex_to_hash(name), tuple(described), position))
        now = int(time.time())
        return build_shard(
            [], infos, with_footer=True, hmac_key=os.urandom(32), expiry=now + DEDUP_SHARD_DAYS * 86400, created=now
        )

    def _neighbours(self, xorb: str) -> list[str]:
        """``xorb``, then the other xorbs of a file that uses it, nearest first (at most DEDUP_XORBS)."""
        file_hash = self.session.scalar(select(XetFileXorb.file_hash).where(XetFileXorb.xorb_hash == xorb).limit(1))
        if file_hash is None:
            return [xorb]
        row = self.session.get(XetFile, file_hash)
        order = list(dict.fromkeys(t.xorb for t in unpack_terms(row.terms))) if row else [xorb]
        at = order.index(xorb) if xorb in order else 0
        nearest = sorted(range(len(order)), key=lambda i: (order[i] != xorb, abs(i - at)))
        return [order[i] for i in nearest[:DEDUP_XORBS]]

    # --- LFS objects converted to Xet ---------------------------------------------------------

    def record_conversion(
        self, sha256: str, file_hash: str, size: int, terms: list[Term], first_chunk: bytes | None
    ) -> None:
        self._record_terms(file_hash, size, terms, first_chunk)
        insert_ignoring_duplicates(
            self.session, XetLfsConversion, [{"sha256": sha256, "file_hash": file_hash, "created_at": utcnow()}]
        )
        self.session.flush()

    def is_converted(self, sha256: str) -> bool:
        return self.session.get(XetLfsConversion, sha256) is not None

    # --- garbage collection -------------------------------------------------------------------

    def collect_garbage(self, grace: timedelta) -> GarbageReport:
        """Drop files no repo references and xorbs no file needs, leaving alone anything used within
        ``grace``: an upload registers its shard after its xorbs, and a dedup answer or a registering shard
        marks the xorbs it names as used (in the same transaction as the shard's rows). The caller commits,
        then deletes ``report.keys`` from the BlobStore: each upload of a xorb has its own key, so a new
        upload of the same xorb is never among them."""
        cutoff = utcnow() - grace
        referenced = select(XetRepoFile.file_hash).union(select(XetLfsConversion.file_hash))
        dead_files = self.session.scalars(
            select(XetFile.hash).where(XetFile.created_at < cutoff, XetFile.hash.not_in(referenced))
        ).all()
        for name in dead_files:
            self.session.execute(delete(XetFileXorb).where(XetFileXorb.file_hash == name))
            self.session.execute(delete(XetFile).where(XetFile.hash == name))
        dead = self.session.execute(
            select(XetXorb.hash, XetXorb.storage_key, XetXorb.size).where(
                XetXorb.used_at < cutoff, XetXorb.hash.not_in(select(XetFileXorb.xorb_hash))
            )
        ).all()
        report = GarbageReport(files=len(dead_files))
        for xorb, key, size in dead:
            gone = self.session.execute(
                delete(XetXorb).where(
                    XetXorb.hash == xorb,
                    XetXorb.used_at < cutoff,  # not used meanwhile (re-checked in the statement itself)
                    XetXorb.hash.not_in(select(XetFileXorb.xorb_hash)),
                )
            )
            if gone.rowcount:  # type: ignore[attr-defined]
                # its dedup entries go with it (only then: a xorb used meanwhile keeps them)
                self.session.execute(delete(XetDedupChunk).where(XetDedupChunk.xorb_hash == xorb))
                report.xorbs += 1
                report.bytes += size
                report.keys.append(key)
        self.session.flush()
        self._collect_orphans(cutoff.timestamp(), report)
        return report

    def _collect_orphans(self, before: float, report: GarbageReport) -> None:
        """Bytes of xorb uploads whose rows never arrived (the process died between the two, or the row's
        transaction failed), and grant markers no commit came for: written before ``before``, when a
        transaction in flight would have committed long ago."""
        for key, _ in self._old_blobs("xet/grants", before):
            report.orphans += 1
            report.keys.append(key)
        collected = set(report.keys)  # rows this collection deleted: their bytes are already on the list
        old = [(key, size) for key, size in self._old_blobs("xet/xorbs", before) if key not in collected]
        for at in range(0, len(old), ORPHAN_BATCH):
            batch = dict(old[at : at + ORPHAN_BATCH])
            known = set(self.session.scalars(select(XetXorb.storage_key).where(XetXorb.storage_key.in_(batch))))
            for key in batch.keys() - known:
                report.orphans += 1
                report.bytes += batch[key]
                report.keys.append(key)

    def _old_blobs(self, prefix: str, before: float) -> Iterator[tuple[str, int]]:
        return ((b.key, b.size) for b in self.blobs.list_blobs(prefix) if b.modified < before)


@dataclass
class GarbageReport:
    files: int = 0
    xorbs: int = 0
    orphans: int = 0  # blobs without rows: see CasService._collect_orphans
    bytes: int = 0
    keys: list[str] = field(default_factory=list)


def _rebuild(
    blobs: BlobStore, xorbs: dict[str, StoredXorb], pieces: list[Piece], start: int, end: int
) -> Iterator[bytes]:
    skip, remaining = start - pieces[0].file_offset, end - start
    for piece in pieces:
        key, stored = xorbs[piece.xorb].key, xorbs[piece.xorb].chunks
        index = piece.start
        while index < piece.end and remaining > 0:
            # read whole chunks, READ_SPAN at a time
            first, span_start = index, (stored[index - 1].end_offset if index else 0)
            while index < piece.end and (index == first or stored[index].end_offset - span_start <= READ_SPAN):
                index += 1
            data = b"".join(blobs.read_range(key, span_start, stored[index - 1].end_offset))
            for payload in decode_chunks(data):
                if skip >= len(payload):
                    skip -= len(payload)
                    continue
                view = memoryview(payload)[skip : skip + remaining]
                skip = 0
                remaining -= len(view)
                yield bytes(view)
                if remaining <= 0:
                    return


class RecentXetHashes:
    """Per process, for ``resolve``: the Xet hash of a repo's LFS object, or that it has none, remembered for a
    few seconds (found ones longer: a mapping only ever goes away with its repo), so that repeated HEADs of a
    file cost no query. Thread-safe enough: a lost race only repeats a lookup."""

    def __init__(self, found_ttl: float = 60.0, missing_ttl: float = 2.0, max_entries: int = 50_000) -> None:
        self.found_ttl, self.missing_ttl, self.max_entries = found_ttl, missing_ttl, max_entries
        self._entries: dict[tuple[int, str], tuple[float, str | None]] = {}

    def get(self, repo_pk: int, sha256: str) -> tuple[bool, str | None]:
        entry = self._entries.get((repo_pk, sha256))
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, repo_pk: int, sha256: str, xet_hash: str | None) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        ttl = self.found_ttl if xet_hash is not None else self.missing_ttl
        self._entries[(repo_pk, sha256)] = (time.monotonic() + ttl, xet_hash)


class XetObjects:
    """The objects a repo holds as Xet files (see hubstead.objects.ClaimedObjects): uploaded through Xet for it,
    or uploaded to it through LFS and converted since."""

    def __init__(self, session: Session, blobs: BlobStore) -> None:
        self.cas = CasService(session, blobs)

    def claimed_sizes(self, repo_pk: int, oids: Sequence[str]) -> dict[str, int]:
        return {sha: ref.size for sha, ref in self.cas.xet_hashes(repo_pk, oids).items()}

    def read_claimed(self, repo_pk: int, oid: str, start: int, end: int | None) -> Iterator[bytes] | None:
        ref = self.cas.find_for_repo(repo_pk, oid)
        if ref is None:
            return None
        return self.cas.read_file(ref.file_hash, start, ref.size if end is None else end)


def repo_objects(session: Session, blobs: BlobStore) -> RepoObjects:
    """Which objects a repo may read, stored whole or as Xet files: what every reader of object bytes uses."""
    return RepoObjects(session, blobs, XetObjects(session, blobs))


_REPO_FILES = select(XetRepoFile.sha256, XetRepoFile.file_hash, XetRepoFile.size).where(
    XetRepoFile.repo_id == bindparam("repo"), XetRepoFile.sha256.in_(bindparam("shas", expanding=True))
)
_CONVERTED = (
    select(XetLfsConversion.sha256, XetLfsConversion.file_hash, LfsObject.size)
    .join(LfsObject, LfsObject.oid == XetLfsConversion.sha256)
    .join(RepoLfsObject, RepoLfsObject.oid == XetLfsConversion.sha256)
    .where(RepoLfsObject.repo_id == bindparam("repo"), XetLfsConversion.sha256.in_(bindparam("shas", expanding=True)))
)
