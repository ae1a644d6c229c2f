"""BlobStore in memory, for tests and throwaway hubs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

from hubstead.errors import BlobNotFoundError
from hubstead.storage.base import StoredBlob

CHUNK_SIZE = 1024 * 1024


class _MemoryBlobWriter:
    def __init__(self, store: InMemoryBlobStore, key: str) -> None:
        self._store = store
        self._key = key
        self._parts: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._parts.append(bytes(data))

    def commit(self) -> None:
        self._store.put(self._key, b"".join(self._parts))

    def abort(self) -> None:
        self._parts.clear()


class InMemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._written: dict[str, float] = {}
        self._lock = threading.Lock()

    def open_writer(self, key: str, *, durable: bool = True) -> _MemoryBlobWriter:
        return _MemoryBlobWriter(self, key)

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            self._blobs[key] = data
            self._written[key] = time.time()

    def exists(self, key: str) -> bool:
        return key in self._blobs

    def _get(self, key: str) -> bytes:
        try:
            return self._blobs[key]
        except KeyError:
            raise BlobNotFoundError(f"blob not found: {key}") from None

    def size(self, key: str) -> int:
        return len(self._get(key))

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        data = self._get(key)
        view = memoryview(data)[start:end]
        return (bytes(view[i : i + CHUNK_SIZE]) for i in range(0, len(view), CHUNK_SIZE))

    def delete(self, key: str) -> None:
        with self._lock:
            self._blobs.pop(key, None)
            self._written.pop(key, None)

    def list_blobs(self, prefix: str) -> Iterator[StoredBlob]:
        with self._lock:
            found = [(k, len(v), self._written[k]) for k, v in self._blobs.items() if k.startswith(prefix + "/")]
        return (StoredBlob(key, size, modified) for key, size, modified in found)

    def drop_abandoned_writes(self, before: float) -> int:
        return 0  # an unfinished write holds its bytes in its writer, and goes with it

    def local_path(self, key: str) -> Path | None:
        return None
