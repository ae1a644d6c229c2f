"""BlobStore on the local filesystem: one file per key, written to a temp file then renamed."""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from hubstead.errors import BlobNotFoundError, InvalidInputError
from hubstead.storage.base import StoredBlob

CHUNK_SIZE = 4 * 1024 * 1024  # per read: large enough that a download costs few thread hops
MAP_WINDOW = 16 * 1024 * 1024  # of a blob mapped at a time, handed out CHUNK_SIZE at a time
FLUSH_EVERY = 64 * 1024 * 1024
DIRECT_ALIGN = 4096  # what O_DIRECT asks of buffer addresses, lengths and file offsets (the largest usual block)
BOUNCE_MIN = 1024 * 1024  # unaligned writes this large are copied through an aligned buffer and written directly
BOUNCE_SIZE = 8 * 1024 * 1024  # that buffer, one per thread that writes such data


class _LocalBlobWriter:
    """A temp file renamed into place on commit.

    Page-aligned pieces (``mmap`` buffers, as uploads are received into) are written with ``O_DIRECT``: the disk
    reads them from the buffer, where a buffered write first copies every byte into the page cache, which on a
    virtual machine costs more CPU than hashing them (each fresh page of cache is a fault on the host). Large
    unaligned writes (xorbs built in memory, parts being joined) go the same way through a per-thread aligned
    buffer. Small writes, and the tail of a blob off a block boundary, are buffered; a durable writer then
    starts the disk on them every FLUSH_EVERY bytes, in a thread of its own, so that the fsync in ``commit``
    finds little left to do. Filesystems without ``O_DIRECT`` get buffered writes throughout."""

    def __init__(self, final: Path, tmp_dir: Path, durable: bool = True) -> None:
        self._final = final
        self._durable = durable
        self._fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        self._tmp = Path(name)
        self._direct_fd: int | None = None
        self._direct_unsupported = False
        self._offset = 0
        self._closed = False
        self._unflushed = 0
        self._flusher: ThreadPoolExecutor | None = None
        self._flushing: Future[None] | None = None
        self.direct_bytes = 0  # written past the page cache (for tests and benchmarks)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        if not self._direct_unsupported and len(view) >= DIRECT_ALIGN and self._offset % DIRECT_ALIGN == 0:
            whole = len(view) - len(view) % DIRECT_ALIGN
            if _page_aligned(view):
                if self._write_direct(view[:whole]):
                    view = view[whole:]
            elif whole >= BOUNCE_MIN:
                view = view[self._write_bounced(view[:whole]) :]
        if view:
            _pwrite_all(self._fd, view, self._offset)
            self._offset += len(view)
            self._unflushed += len(view)
        if self._durable and self._unflushed >= FLUSH_EVERY and (self._flushing is None or self._flushing.done()):
            if self._flusher is None:
                self._flusher = ThreadPoolExecutor(1, thread_name_prefix="blob-flush")
            self._flushing = self._flusher.submit(os.fdatasync, self._fd)
            self._unflushed = 0

    def _write_direct(self, view: memoryview) -> bool:
        """False (and buffered writes from now on) where the filesystem or the device refuses O_DIRECT."""
        try:
            if self._direct_fd is None:
                self._direct_fd = os.open(self._tmp, os.O_WRONLY | os.O_DIRECT)
            _pwrite_all(self._direct_fd, view, self._offset)
        except OSError as error:
            if error.errno != errno.EINVAL:
                raise
            self._direct_unsupported = True
            return False
        self._offset += len(view)
        self.direct_bytes += len(view)
        return True

    def _write_bounced(self, view: memoryview) -> int:
        """Large unaligned data (a xorb built in memory, a part being joined) copied through this thread's
        page-aligned buffer and written with O_DIRECT: a copy within memory that stays mapped costs a fraction
        of one into fresh page-cache pages. Returns how much was written so (0 without O_DIRECT)."""
        bounce = _bounce_buffer()
        done = 0
        while done < len(view):
            step = min(BOUNCE_SIZE, len(view) - done)
            bounce[:step] = view[done : done + step]
            if not self._write_direct(bounce[:step]):
                break
            done += step
        return done

    def _stop_flushing(self) -> None:
        if self._flusher is not None:
            self._flusher.shutdown(wait=True)
            self._flusher = None

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._direct_fd is not None:
                os.close(self._direct_fd)
            os.close(self._fd)

    def commit(self) -> None:
        self._stop_flushing()
        if self._flushing is not None:
            self._flushing.result()  # a failed early flush fails the commit
        if self._durable:
            os.fsync(self._fd)  # the file's data, whichever descriptor wrote it, and the device's cache
        self._close()
        self._final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, self._final)

    def abort(self) -> None:
        self._stop_flushing()
        self._close()
        self._tmp.unlink(missing_ok=True)


_bounce = threading.local()


def page_aligned_buffer(size: int) -> mmap.mmap:
    """A writable buffer of ``size`` bytes starting on a page (private anonymous memory): what the writer can
    hand to the disk with O_DIRECT. Fill it with slice assignment."""
    return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)


def _bounce_buffer() -> memoryview:
    """This thread's BOUNCE_SIZE page-aligned buffer, mapped once and kept (its pages stay faulted in)."""
    buffer: memoryview | None = getattr(_bounce, "buffer", None)
    if buffer is None:
        buffer = _bounce.buffer = memoryview(page_aligned_buffer(BOUNCE_SIZE))
    return buffer


def _page_aligned(view: memoryview) -> bool:
    """Whether the buffer starts on a DIRECT_ALIGN boundary (only writable buffers can tell)."""
    if view.readonly:
        return False
    return ctypes.addressof(ctypes.c_char.from_buffer(view)) % DIRECT_ALIGN == 0


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


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

    def open_writer(self, key: str, *, durable: bool = True) -> _LocalBlobWriter:
        return _LocalBlobWriter(self._path(key), self._tmp_dir, durable)

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

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes | memoryview]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise BlobNotFoundError(f"blob not found: {key}") from None
        return _iter_file(handle, start, end)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_blobs(self, prefix: str) -> Iterator[StoredBlob]:
        top = self._path(prefix)
        for folder, _, names in os.walk(top):
            base = Path(folder).relative_to(self.root).as_posix()
            for name in names:
                try:
                    info = os.stat(os.path.join(folder, name))
                except FileNotFoundError:  # deleted while listed
                    continue
                yield StoredBlob(f"{base}/{name}", info.st_size, info.st_mtime)

    def drop_abandoned_writes(self, before: float) -> int:
        dropped = 0
        for entry in os.scandir(self._tmp_dir):
            try:
                if entry.name.startswith("upload-") and entry.stat().st_mtime < before:
                    os.unlink(entry.path)
                    dropped += 1
            except FileNotFoundError:  # committed or aborted meanwhile
                continue
        return dropped

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None


def _iter_file(handle: BinaryIO, start: int, end: int | None) -> Iterator[memoryview]:
    """Bytes ``[start, end)`` as views of a read-only shared mapping of the file: sent to a socket, they are
    copied once, from the page cache, where reading them into new ``bytes`` first costs a second copy and fresh
    zeroed pages for every chunk (a 1 GiB download took 3x the server's CPU). A blob file is never changed in
    place (it is written elsewhere and renamed), so a mapping stays valid, even once the file is deleted."""
    with handle as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        end = size if end is None else min(end, size)
        pos = start
        while pos < end:
            base = pos - pos % mmap.ALLOCATIONGRANULARITY
            length = min(base + MAP_WINDOW, end) - base
            yield from _chunks(mmap.mmap(fd, length, prot=mmap.PROT_READ, offset=base), pos - base)
            pos = base + length


def _chunks(window: mmap.mmap, start: int) -> Iterator[memoryview]:
    """CHUNK_SIZE views of ``window`` from ``start``. Once a chunk is asked for, the one before the last was sent
    (the server waits for a chunk to drain before it asks for the next): its pages are unmapped again (read from
    the page cache if needed after all), so that a stream holds two chunks in memory, not a window."""
    view = memoryview(window)
    for at in range(start - start % CHUNK_SIZE, len(window), CHUNK_SIZE):
        if at >= 2 * CHUNK_SIZE:
            window.madvise(mmap.MADV_DONTNEED, at - 2 * CHUNK_SIZE, CHUNK_SIZE)
        yield view[max(at, start) : at + CHUNK_SIZE]
