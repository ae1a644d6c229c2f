"""The BlobStore interface. Keys are ``/``-separated strings; values are immutable byte strings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StoredBlob:
    """A blob as a listing sees it: its key, size, and when it was written (POSIX seconds)."""

    key: str
    size: int
    modified: float


class BlobWriter(Protocol):
    """A blob being written: invisible under its key until ``commit()``; ``abort()`` drops it."""

    def write(self, data: bytes | bytearray | memoryview) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class BlobStore(Protocol):
    """Stores bytes by key. Writes are atomic: a reader sees a whole blob or none."""

    def open_writer(self, key: str, *, durable: bool = True) -> BlobWriter:
        """Start writing ``key``; it appears only when the writer commits. ``durable=False`` skips making the
        bytes crash-safe on commit, for intermediate blobs (multipart parts) that a crash may lose."""
        ...

    def put(self, key: str, data: bytes) -> None: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """Size in bytes; raises ``BlobNotFoundError``."""
        ...

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes | memoryview]:
        """Yield the bytes ``[start, end)`` of ``key`` in chunks; raises ``BlobNotFoundError``. A chunk may be a
        ``memoryview`` (``LocalBlobStore`` maps the file rather than copy it): join, write, hash or send it."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        ...

    def list_blobs(self, prefix: str) -> Iterator[StoredBlob]:
        """Every committed blob whose key starts with ``prefix/`` (a folder of keys), in no set order."""
        ...

    def drop_abandoned_writes(self, before: float) -> int:
        """Remove what writers started before ``before`` (POSIX seconds) and never committed or aborted (the
        process died mid-upload); returns how many. Never call it with a time after an upload in flight began."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path holding the blob, for zero-copy serving; ``None`` if not on local disk."""
        ...
