"""What bytes a repo's file is, and reading them for a scan.

A file's content is named by a hash that was checked when the bytes arrived: the git blob id of a regular file,
the sha256 of a whole LFS object, or the Xet file hash of an object uploaded through Xet (whose sha256 is only
its uploader's claim, so it cannot name the bytes). An LFS file whose repo also holds a Xet upload for it that
is not the checked conversion of the whole object may reach plain and Xet clients as different bytes: both are
its content, and both are scanned."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubstead.errors import BlobNotFoundError, EntryNotFoundError
from hubstead.gitstore import GitRepo
from hubstead.objects import RepoObjects, blob_key
from hubstead.repos.files import FileService, RepoEntry, ResolvedFile
from hubstead.scanning.models import ContentKind
from hubstead.storage import BlobStore
from hubstead.xet.models import XetLfsConversion
from hubstead.xet.services import CasService

QUERY_CHUNK = 500


@dataclass(frozen=True, order=True)
class ContentKey:
    kind: ContentKind
    digest: str


class ContentChangedError(Exception):
    """The bytes read were not the ones the key names (a race with an upload, or a damaged store)."""


def content_keys(
    session: Session, blobs: BlobStore, repo_pk: int, entries: Sequence[RepoEntry]
) -> dict[str, tuple[ContentKey, ...]]:
    """The content of each file of ``entries`` (by path); an empty tuple: the repo has no bytes for it."""
    out: dict[str, tuple[ContentKey, ...]] = {}
    oids = list(dict.fromkeys(e.lfs.oid for e in entries if e.lfs is not None))
    xet = CasService(session, blobs).xet_hashes(repo_pk, oids) if oids else {}
    verified = RepoObjects(session, blobs).verified_sizes(repo_pk, oids) if oids else {}
    converted = _conversions(session, [o for o in oids if o in xet])
    for entry in entries:
        if entry.lfs is None:
            out[entry.path] = (ContentKey(ContentKind.GIT, entry.entry.oid),)
            continue
        oid, keys = entry.lfs.oid, []
        if oid in verified and blobs.exists(blob_key(oid)):
            keys.append(ContentKey(ContentKind.LFS, oid))
        ref = xet.get(oid)
        if ref is not None and converted.get(oid) != ref.file_hash:
            keys.append(ContentKey(ContentKind.XET, ref.file_hash))
        out[entry.path] = tuple(keys)
    return out


def _conversions(session: Session, oids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(oids), QUERY_CHUNK):
        rows = session.execute(
            select(XetLfsConversion.sha256, XetLfsConversion.file_hash).where(
                XetLfsConversion.sha256.in_(oids[start : start + QUERY_CHUNK])
            )
        )
        found.update((sha, file_hash) for sha, file_hash in rows)
    return found


def read_content(
    files: FileService, git: GitRepo, file: ResolvedFile, key: ContentKey, start: int, end: int
) -> Iterator[bytes | memoryview]:
    """Bytes ``[start, end)`` of ``key``, one of ``file``'s contents: git blobs and whole LFS objects as the
    repo serves them, Xet files by their hash (once the repo is seen to reference them)."""
    if key.kind is ContentKind.XET:
        cas = CasService(files.repos.session, files.blobs)
        if not cas.repo_references_file(file.repo_pk, key.digest):
            raise EntryNotFoundError(f"Xet file {key.digest} is not this repo's")
        return cas.read_file(key.digest, start, end)
    return files.read_bytes(git, file, start, end)


def spool(chunks: Iterable[bytes | memoryview], out: BinaryIO, limit: int) -> tuple[int, str]:
    """Copy ``chunks`` into ``out`` (at most ``limit`` bytes); returns the byte count and their sha256."""
    hasher, written = hashlib.sha256(), 0
    for chunk in chunks:
        written += len(chunk)
        if written > limit:
            raise ContentChangedError(f"more bytes than the {limit} expected")
        hasher.update(chunk)
        out.write(chunk)
    out.flush()
    return written, hasher.hexdigest()


def write_content(files: FileService, git: GitRepo, file: ResolvedFile, key: ContentKey, size: int, path: Path) -> None:
    """The whole content into ``path``, checked against what names it (git blob ids are checked by git)."""
    try:
        with path.open("wb") as out:
            written, sha256 = spool(read_content(files, git, file, key, 0, size), out, size)
    except BlobNotFoundError as exc:
        raise ContentChangedError(exc.message) from None
    if written != size:
        raise ContentChangedError(f"{written} bytes read, {size} expected")
    if key.kind is ContentKind.LFS and sha256 != key.digest:
        raise ContentChangedError(f"the bytes read hash to {sha256}, not {key.digest}")
