"""Large objects by sha256, and which repo may read which.

Content-addressed storage is shared; the right to read it is not. A repo may read an object, and commit LFS
pointers to it, only if

- it was uploaded to that repo through LFS, the server hashing the bytes itself (:meth:`RepoObjects.link`):
  the object is then stored whole under :func:`blob_key` and its size is a fact (``LfsObject``);
- or the repo holds it in another form its uploader proved to have, such as a Xet file registered by a shard
  whose chunks were uploaded (:class:`ClaimedObjects`): the sha256 is then the uploader's label for those
  bytes, and serves that repo alone.

Knowing a sha256 grants nothing. Every reader of object bytes (downloads, pages, indexing, scans) comes through
:meth:`RepoObjects.read`, so that this rule is one check in one place.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubstead.db.base import utcnow
from hubstead.db.upsert import insert_ignoring_duplicates
from hubstead.errors import BlobNotFoundError, LfsObjectMissingError
from hubstead.objects.models import LfsObject, RepoLfsObject
from hubstead.storage import BlobStore

QUERY_CHUNK = 500  # oids per IN (...) query, well under every backend's parameter limit


def blob_key(oid: str) -> str:
    """Where an object stored whole lives in the BlobStore."""
    return f"lfs/{oid[:2]}/{oid[2:4]}/{oid}"


class ClaimedObjects(Protocol):
    """Objects a repo holds in a form other than a whole verified blob (Xet files), by sha256, for that repo only."""

    def claimed_sizes(self, repo_pk: int, oids: Sequence[str]) -> dict[str, int]:
        """The size of each of ``oids`` that ``repo_pk`` holds this way."""
        ...

    def read_claimed(self, repo_pk: int, oid: str, start: int, end: int | None) -> Iterator[bytes] | None:
        """Bytes [start, end) of ``oid`` as ``repo_pk`` holds it, or None if it holds no such object."""
        ...


class RepoObjects:
    """Which repo may read which object, and the bytes for those that may. Never commits."""

    def __init__(self, session: Session, blobs: BlobStore, claims: ClaimedObjects | None = None) -> None:
        self.session = session
        self.blobs = blobs
        self.claims = claims

    # --- what a repo holds --------------------------------------------------------------------

    def verified_sizes(self, repo_pk: int, oids: Sequence[str]) -> dict[str, int]:
        """Size of each of ``oids`` that was uploaded to ``repo_pk`` through LFS (its bytes hashed here)."""
        wanted = list(dict.fromkeys(oids))
        sizes: dict[str, int] = {}
        for at in range(0, len(wanted), QUERY_CHUNK):
            rows = self.session.execute(
                select(LfsObject.oid, LfsObject.size)
                .join(RepoLfsObject, RepoLfsObject.oid == LfsObject.oid)
                .where(RepoLfsObject.repo_id == repo_pk, LfsObject.oid.in_(wanted[at : at + QUERY_CHUNK]))
            )
            sizes.update((oid, size) for oid, size in rows)
        return sizes

    def sizes(self, repo_pk: int, oids: Sequence[str]) -> dict[str, int]:
        """Size of each of ``oids`` that ``repo_pk`` may read, however it came to hold it."""
        sizes = self.verified_sizes(repo_pk, oids)
        rest = [oid for oid in oids if oid not in sizes]
        if rest and self.claims is not None:
            sizes |= self.claims.claimed_sizes(repo_pk, rest)
        return sizes

    def size(self, repo_pk: int, oid: str) -> int | None:
        return self.sizes(repo_pk, [oid]).get(oid)

    def require(self, repo_pk: int, oid: str) -> int:
        """The size of ``oid`` as ``repo_pk`` holds it, if its bytes are there; else LfsObjectMissingError, in the
        same words whether or not the object is stored for another repo."""
        size = self.size(repo_pk, oid)
        if size is None or not self._bytes_there(repo_pk, oid):
            raise LfsObjectMissingError(
                f"LFS object {oid} was never uploaded to this repository: upload it before committing"
            )
        return size

    def available(self, repo_pk: int, oid: str) -> bool:
        """Whether ``repo_pk`` may read ``oid`` and its bytes are there."""
        return self.size(repo_pk, oid) is not None and self._bytes_there(repo_pk, oid)

    def _bytes_there(self, repo_pk: int, oid: str) -> bool:
        if self.blobs.exists(blob_key(oid)) and self.verified_sizes(repo_pk, [oid]):
            return True
        return self.claims is not None and bool(self.claims.claimed_sizes(repo_pk, [oid]))

    # --- changing it --------------------------------------------------------------------------

    def link(self, repo_pk: int, oid: str, size: int) -> None:
        """Record that ``oid`` (``size`` bytes, just hashed here) was uploaded to ``repo_pk``."""
        known = self.session.get(LfsObject, oid)
        if known is None:
            insert_ignoring_duplicates(self.session, LfsObject, [{"oid": oid, "size": size, "created_at": utcnow()}])
        elif known.size != size:
            known.size = size  # a row from before sizes were always checked: the bytes just hashed are the truth
        insert_ignoring_duplicates(
            self.session, RepoLfsObject, [{"repo_id": repo_pk, "oid": oid, "created_at": utcnow()}]
        )
        self.session.flush()

    # --- bytes --------------------------------------------------------------------------------

    def read(self, repo_pk: int, oid: str, start: int = 0, end: int | None = None) -> Iterator[bytes | memoryview]:
        """Bytes [start, end) of ``oid`` (to the end if None), if ``repo_pk`` may read it; else
        BlobNotFoundError, in the same words whether or not the object is stored for another repo."""
        key = blob_key(oid)
        if self.verified_sizes(repo_pk, [oid]) and self.blobs.exists(key):
            return self.blobs.read_range(key, start, end)
        claimed = self.claims.read_claimed(repo_pk, oid, start, end) if self.claims is not None else None
        if claimed is None:
            raise BlobNotFoundError(f"LFS object {oid} not found")
        return claimed
