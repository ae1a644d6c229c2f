"""BlobStore in memory, for tests and throwaway hubs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from hubstead.errors import BlobNotFoundError

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
        self._lock = threading.Lock()

    def open_writer(self, key: str, *, durable: bool = True) -> _MemoryBlobWriter:
        return _MemoryBlobWriter(self, key)

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            self._blobs[key] = data

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

    def local_path(self, key: str) -> Path | None:
        return None
