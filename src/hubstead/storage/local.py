"""BlobStore on the local filesystem: one file per key, written to a temp file then renamed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from hubstead.errors import BlobNotFoundError, InvalidInputError

CHUNK_SIZE = 1024 * 1024


class _LocalBlobWriter:
    def __init__(self, final: Path, tmp_dir: Path) -> None:
        self._final = final
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        self._tmp = Path(name)
        self._file = os.fdopen(fd, "wb", buffering=0)
        self._closed = False

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._closed = True
        self._final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, self._final)

    def abort(self) -> None:
        if not self._closed:
            self._file.close()
            self._closed = True
        self._tmp.unlink(missing_ok=True)


class LocalBlobStore:
    """Blobs as files under ``root``; temp files live in ``root/.tmp`` on the same filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._tmp_dir = self.root / ".tmp"
        self._tmp_dir.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") or part.startswith(".tmp") for part in parts):
            raise InvalidInputError(f"invalid blob key: {key!r}")
        return self.root.joinpath(*parts)

    def open_writer(self, key: str) -> _LocalBlobWriter:
        return _LocalBlobWriter(self._path(key), self._tmp_dir)

    def put(self, key: str, data: bytes) -> None:
        writer = self.open_writer(key)
        try:
            writer.write(data)
            writer.commit()
        except BaseException:
            writer.abort()
            raise

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise BlobNotFoundError(f"blob not found: {key}") from None

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise BlobNotFoundError(f"blob not found: {key}") from None
        return _iter_file(handle, start, end)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None


def _iter_file(handle: BinaryIO, start: int, end: int | None) -> Iterator[bytes]:
    with handle as f:
        f.seek(start)
        remaining = None if end is None else end - start
        while remaining is None or remaining > 0:
            chunk = f.read(CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
