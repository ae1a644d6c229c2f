"""LFS objects: the batch API, receiving uploads (basic and multipart) with the hash checked while the
bytes stream, and verification. Which repo may reference which object: hubstead.objects."""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubstead.accounts.permissions import Actor
from hubstead.errors import (
    BlobNotFoundError,
    ChecksumMismatchError,
    InvalidInputError,
    LfsObjectMissingError,
    RepoNotFoundError,
)
from hubstead.objects import blob_key
from hubstead.objects.signing import UrlSigner
from hubstead.repos.lfs_pointer import SHA256
from hubstead.repos.models import Repo
from hubstead.storage import BlobStore, page_aligned_buffer
from hubstead.xet.services import repo_objects

MAX_BATCH_OBJECTS = 1000
MAX_OBJECT_SIZE = 5 * 1024**4  # 5 TiB: the largest object S3 (and so every BlobStore) holds
MAX_PARTS = 10_000  # per multipart object, as S3; larger objects get larger parts
MAX_BATCH_PARTS = 100_000  # signed part URLs in one batch answer
PIECE_SIZE = 8 * 1024 * 1024  # upload bytes are hashed and written in pieces this large, off the event loop


@dataclass(frozen=True)
class LfsLimits:
    multipart_threshold: int
    multipart_chunk_size: int


def _check_object(obj: Any) -> tuple[str, int]:
    if not isinstance(obj, dict):
        raise InvalidInputError("Each LFS object must be a JSON object with 'oid' and 'size'")
    oid, size = obj.get("oid"), obj.get("size")
    if not isinstance(oid, str) or not SHA256.match(oid):
        raise InvalidInputError(f"Invalid LFS oid {oid!r}: expected 64 lowercase hex characters (sha256)")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidInputError(f"Invalid LFS size for {oid}: expected a non-negative integer")
    if size > MAX_OBJECT_SIZE:
        raise InvalidInputError(f"Invalid LFS size for {oid}: objects may be at most {MAX_OBJECT_SIZE} bytes")
    return oid, size


def upload_path(repo_pk: int, repo_uid: str, oid: str, size: int) -> str:
    """Signed. The repo is named by id and uid: the URL of a deleted repo uploads to no other repo."""
    return f"/api/hubstead/lfs/upload/{repo_pk}/{repo_uid}/{oid}/{size}"


def download_path(oid: str, repo_pk: int, repo_uid: str) -> str:
    """Signed: git-lfs sends no credentials there. The repo is part of it because an object uploaded through
    Xet is that repo's (its sha256 is the uploader's claim, checked against nothing else); its uid too, so the
    URL reads nothing once that repo is deleted, whichever repo gets its name or id."""
    return f"/api/hubstead/lfs/objects/{repo_pk}/{repo_uid}/{oid}"


class LfsService:
    """Never commits; the caller's unit of work does. Upload bodies are hashed before they become visible."""

    def __init__(self, session: Session, blobs: BlobStore, signer: UrlSigner, limits: LfsLimits) -> None:
        self.session = session
        self.blobs = blobs
        self.signer = signer
        self.limits = limits
        self.objects = repo_objects(session, blobs)

    # --- what a repo may reference ------------------------------------------------------------

    def require_repo(self, repo_pk: int, repo_uid: str) -> None:
        """The repo a signed URL names (by id and uid) still exists: a URL handed out for a deleted repo reaches
        no repo that got its name or id since. RepoNotFoundError otherwise."""
        if self.session.scalar(select(Repo.id).where(Repo.id == repo_pk, Repo.uid == repo_uid)) is None:
            raise RepoNotFoundError()

    def require_object(self, repo: Repo, oid: str) -> int:
        """The size of ``oid`` if ``repo`` may reference it (see hubstead.objects); else LfsObjectMissingError."""
        return self.objects.require(repo.id, oid)

    def link(self, repo_pk: int, oid: str, size: int) -> None:
        """``oid`` was uploaded to ``repo_pk``, its bytes hashed here."""
        self.objects.link(repo_pk, oid, size)

    # --- batch API ----------------------------------------------------------------------------

    def batch(self, repo: Repo, actor: Actor, request: Any, base_url: str) -> dict[str, Any]:
        if not isinstance(request, dict) or request.get("operation") not in ("upload", "download"):
            raise InvalidInputError("LFS batch: 'operation' must be 'upload' or 'download'")
        objects = request.get("objects")
        if not isinstance(objects, list) or len(objects) > MAX_BATCH_OBJECTS:
            raise InvalidInputError(f"LFS batch: 'objects' must be a list of at most {MAX_BATCH_OBJECTS}")
        checked = [_check_object(o) for o in objects]
        transfers = request.get("transfers") or ["basic"]
        if request["operation"] == "download":
            return {"transfer": "basic", "objects": [self._download_item(repo, o, s, base_url) for o, s in checked]}
        multipart = isinstance(transfers, list) and "multipart" in transfers
        if multipart and sum(self._parts(s)[1] for _, s in checked) > MAX_BATCH_PARTS:
            raise InvalidInputError(f"LFS batch: more than {MAX_BATCH_PARTS} parts to upload; ask for fewer objects")
        items = [self._upload_item(repo, o, s, base_url, multipart) for o, s in checked]
        return {
            "transfer": "multipart" if multipart and any(_is_multipart(i) for i in items) else "basic",
            "objects": items,
        }

    def _download_item(self, repo: Repo, oid: str, size: int, base_url: str) -> dict[str, Any]:
        stored = self.objects.size(repo.id, oid)
        if stored is None:
            return {"oid": oid, "size": size, "error": {"code": 404, "message": "Object does not exist"}}
        href = base_url + self.signer.sign(download_path(oid, repo.id, repo.uid))
        return {
            "oid": oid,
            "size": stored,
            "authenticated": True,
            "actions": {"download": {"href": href, "expires_in": self.signer.ttl_seconds}},
        }

    def _upload_item(self, repo: Repo, oid: str, size: int, base_url: str, multipart: bool) -> dict[str, Any]:
        if self.objects.size(repo.id, oid) == size and self.objects.available(repo.id, oid):
            return {"oid": oid, "size": size}  # no actions: already stored for this repo
        path = upload_path(repo.id, repo.uid, oid, size)
        upload: dict[str, Any] = {"href": base_url + self.signer.sign(path), "expires_in": self.signer.ttl_seconds}
        if multipart and size >= self.limits.multipart_threshold:
            chunk, parts = self._parts(size)
            upload["header"] = {"chunk_size": str(chunk)} | {
                str(n): base_url + self.signer.sign(f"{path}/part/{n}") for n in range(1, parts + 1)
            }
        verify = {"href": f"{base_url}/{repo.type.url_prefix}{repo.repo_id}.git/info/lfs/objects/verify", "header": {}}
        return {"oid": oid, "size": size, "authenticated": True, "actions": {"upload": upload, "verify": verify}}

    def _parts(self, size: int) -> tuple[int, int]:
        """Part size and count of a multipart upload of ``size`` bytes: the configured part size, or larger so
        that no object has more than MAX_PARTS parts."""
        chunk = max(self.limits.multipart_chunk_size, -(-size // MAX_PARTS))
        return chunk, max(1, -(-size // chunk))

    def verify(self, repo: Repo, request: Any) -> None:
        oid, size = _check_object(request)
        stored = self.objects.size(repo.id, oid)  # this repo's own objects only: nothing said of others
        if stored is None:
            raise LfsObjectMissingError(f"LFS object {oid} was not uploaded")
        if stored != size:
            raise ChecksumMismatchError(f"LFS object {oid} has size {stored}, not {size}")

    # --- receiving bytes ----------------------------------------------------------------------

    async def receive(self, oid: str, size: int, chunks: AsyncIterator[bytes]) -> None:
        """Store the body as object ``oid`` if, and only if, its sha256 and size match."""
        writer = self.blobs.open_writer(blob_key(oid))
        hasher = hashlib.sha256()

        def sink(piece: memoryview) -> None:
            # hash here while another thread writes the same piece: both let go of the GIL, so on two cores
            # a piece costs the longer of the two, not their sum
            written = writes.submit(writer.write, piece)
            hasher.update(piece)
            written.result()

        try:
            with (
                ThreadPoolExecutor(1, thread_name_prefix="lfs-upload") as pool,
                ThreadPoolExecutor(1, thread_name_prefix="lfs-write") as writes,
            ):
                received = await _pump(chunks, pool, sink, size, oid)
                _check_digest(oid, size, hasher.hexdigest(), received)
                await asyncio.wrap_future(pool.submit(writer.commit))
        except BaseException:
            writer.abort()
            raise

    async def receive_part(self, repo_pk: int, oid: str, part: int, chunks: AsyncIterator[bytes]) -> str:
        """Store one part of a multipart upload; returns its ETag. Parts are not made durable: the object
        they are joined into is, and a part lost in a crash only fails that object's completion."""
        writer = self.blobs.open_writer(_part_key(repo_pk, oid, part), durable=False)
        crc = 0

        def sink(piece: memoryview) -> None:
            nonlocal crc
            crc = zlib.crc32(piece, crc)  # the ETag clients echo back: md5 would cost more than the hash
            writer.write(piece)

        try:
            with ThreadPoolExecutor(1, thread_name_prefix="lfs-upload") as pool:
                received = await _pump(chunks, pool, sink, None, oid)
                await asyncio.wrap_future(pool.submit(writer.commit))
        except BaseException:
            writer.abort()
            raise
        return f"{crc:08x}-{received:x}"

    def complete_multipart(self, repo_pk: int, oid: str, size: int, body: Any) -> None:
        """Join the parts in order, hashing as they are copied; the object appears only if it matches."""
        parts = body.get("parts") if isinstance(body, dict) else None
        if not isinstance(parts, list) or not parts:
            raise InvalidInputError("Multipart completion needs a non-empty 'parts' list")
        numbers = [p.get("partNumber") if isinstance(p, dict) else None for p in parts]
        expected = self._parts(size)[1]
        if sorted(n for n in numbers if isinstance(n, int)) != list(range(1, expected + 1)):
            raise InvalidInputError(f"Multipart completion must list parts 1..{expected} exactly once")
        keys = [_part_key(repo_pk, oid, n) for n in range(1, expected + 1)]
        writer = self.blobs.open_writer(blob_key(oid))
        try:
            hasher, received = hashlib.sha256(), 0
            with ThreadPoolExecutor(1, thread_name_prefix="lfs-join") as pool:
                written: Future[None] | None = None
                for chunk in _chain(self.blobs, keys):
                    # hash here while the previous chunk is written there: both let go of the GIL
                    hasher.update(chunk)
                    if written is not None:
                        written.result()
                    written = pool.submit(writer.write, chunk)
                    received += len(chunk)
                if written is not None:
                    written.result()
            _check_digest(oid, size, hasher.hexdigest(), received)
            writer.commit()
        except BaseException:
            writer.abort()
            raise
        finally:
            for key in keys:
                self.blobs.delete(key)
        self.link(repo_pk, oid, size)


def _chain(blobs: BlobStore, keys: Iterable[str]) -> Iterable[bytes | memoryview]:
    for key in keys:
        try:
            yield from blobs.read_range(key)
        except BlobNotFoundError:
            raise InvalidInputError(f"Multipart upload is missing a part ({key.rsplit('/', 1)[-1]})") from None


async def _pump(
    chunks: AsyncIterator[bytes],
    pool: ThreadPoolExecutor,
    sink: Callable[[memoryview], None],
    limit: int | None,
    oid: str,
) -> int:
    """Feed a request body to ``sink`` in pieces of PIECE_SIZE, each in ``pool``'s thread while the next piece
    arrives: hashing and writing never hold up the event loop, and cost no thread hop per network read.
    The pieces are gathered in two page-aligned buffers taken in turns (one filling while the other is in
    ``sink``), so that a blob writer can hand them to the disk without copying them into the page cache.
    Returns the byte count; raises once the body passes ``limit``."""
    buffers = [page_aligned_buffer(PIECE_SIZE) for _ in range(2)]
    received, filled, current = 0, 0, 0
    pending: asyncio.Future[None] | None = None
    async for chunk in chunks:
        received += len(chunk)
        if limit is not None and received > limit:
            raise ChecksumMismatchError(f"Upload of {oid} is larger than the announced {limit} bytes")
        view = memoryview(chunk)
        while view:
            take = min(len(view), PIECE_SIZE - filled)
            buffers[current][filled : filled + take] = view[:take]
            filled, view = filled + take, view[take:]
            if filled == PIECE_SIZE:
                if pending is not None:
                    await pending  # the other buffer is free again once its piece is through
                pending = asyncio.wrap_future(pool.submit(sink, memoryview(buffers[current])))
                current, filled = 1 - current, 0
    if pending is not None:
        await pending
    if filled:
        await asyncio.wrap_future(pool.submit(sink, memoryview(buffers[current])[:filled]))
    return received


def _check_digest(oid: str, size: int, digest: str, received: int) -> None:
    if received != size:
        raise ChecksumMismatchError(f"Upload of {oid} has {received} bytes, expected {size}")
    if digest != oid:
        raise ChecksumMismatchError(f"Upload does not match its oid: sha256 is {digest}, expected {oid}")


def _part_key(repo_pk: int, oid: str, part: int) -> str:
    return f"lfs-parts/{repo_pk}-{oid}/{part:05d}"


def _is_multipart(item: dict[str, Any]) -> bool:
    return "chunk_size" in item.get("actions", {}).get("upload", {}).get("header", {})
