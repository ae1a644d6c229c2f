"""LocalBlobStore writers: durable ones flush to disk as they go; intermediate ones (multipart parts) may not."""

from __future__ import annotations

import errno
import mmap
import os
from pathlib import Path

import pytest

from hubstead.storage import LocalBlobStore
from hubstead.storage import local as local_module

MiB = 1024 * 1024


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real_fsync, real_fdatasync = os.fsync, os.fdatasync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "fdatasync", lambda fd: (calls.append("fdatasync"), real_fdatasync(fd))[1])
    monkeypatch.setattr(local_module, "FLUSH_EVERY", 1 * MiB)
    return calls


def test_a_durable_write_starts_flushing_before_its_commit(store: LocalBlobStore, fsyncs: list[str]) -> None:
    writer = store.open_writer("lfs/aa/bb/big")
    for _ in range(8):
        writer.write(bytes(MiB // 2))  # small, unaligned writes: buffered, so flushed as they go
    writer.commit()

    assert "fdatasync" in fsyncs
    assert fsyncs[-1] == "fsync"
    assert store.size("lfs/aa/bb/big") == 4 * MiB


def test_a_part_is_not_made_durable(store: LocalBlobStore, fsyncs: list[str]) -> None:
    writer = store.open_writer("lfs-parts/1/00001", durable=False)
    writer.write(b"x" * (3 * MiB))
    writer.commit()

    assert fsyncs == []
    assert b"".join(store.read_range("lfs-parts/1/00001")) == b"x" * (3 * MiB)


def test_an_aborted_write_leaves_nothing_behind(store: LocalBlobStore, fsyncs: list[str]) -> None:
    writer = store.open_writer("lfs/aa/bb/gone")
    writer.write(bytearray(2 * MiB))
    writer.abort()

    assert not store.exists("lfs/aa/bb/gone")
    assert list((store.root / ".tmp").iterdir()) == []


def _needs_o_direct(store: LocalBlobStore) -> None:
    probe = store.root / "probe"
    probe.touch()
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_DIRECT))
    except OSError:
        pytest.skip("the temp filesystem has no O_DIRECT")


def _page_buffer(content: bytes) -> memoryview:
    buffer = mmap.mmap(-1, len(content))
    buffer[:] = content
    return memoryview(buffer)


def test_page_aligned_pieces_bypass_the_page_cache_and_the_rest_is_buffered(store: LocalBlobStore) -> None:
    _needs_o_direct(store)
    pieces = [os.urandom(MiB), os.urandom(MiB + 1000), os.urandom(MiB), b"small, unaligned"]
    writer = store.open_writer("lfs/aa/bb/mixed")
    for piece in pieces[:3]:
        writer.write(_page_buffer(piece))  # the second ends off a block: the ones after it are buffered
    writer.write(pieces[3])
    writer.commit()

    assert writer.direct_bytes == MiB + MiB  # the first whole, the second up to its last full block
    assert b"".join(store.read_range("lfs/aa/bb/mixed")) == b"".join(pieces)


def test_small_unaligned_writes_go_through_the_page_cache(store: LocalBlobStore) -> None:
    content = os.urandom(local_module.BOUNCE_MIN - 4096)
    writer = store.open_writer("lfs/aa/bb/plain")
    writer.write(content)  # bytes: read-only, its address unknown
    writer.write(_page_buffer(content)[1:])  # writable, but one byte off a page (and the offset is now off too)
    writer.commit()

    assert writer.direct_bytes == 0
    assert b"".join(store.read_range("lfs/aa/bb/plain")) == content + content[1:]


def test_large_unaligned_writes_are_copied_through_an_aligned_buffer(store: LocalBlobStore) -> None:
    _needs_o_direct(store)
    first = os.urandom(local_module.BOUNCE_SIZE * 2 + 3 * 4096)  # read-only bytes, more than one buffer's worth
    second = os.urandom(local_module.BOUNCE_MIN + 123)  # ends off a block: its tail is buffered
    writer = store.open_writer("xet/xorbs/ab/abc.1")
    writer.write(first)
    writer.write(memoryview(bytearray(second)))
    writer.write(os.urandom(5 * 1024 * 1024))  # after an unaligned end: buffered
    writer.commit()

    assert writer.direct_bytes == len(first) + len(second) - 123
    stored = b"".join(store.read_range("xet/xorbs/ab/abc.1"))
    assert stored[: len(first) + len(second)] == first + second
    assert len(stored) == len(first) + len(second) + 5 * 1024 * 1024


def test_a_filesystem_without_o_direct_gets_buffered_writes(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def no_direct(path: str, flags: int, *args: int) -> int:
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", no_direct)
    pieces = [os.urandom(MiB), os.urandom(MiB)]
    writer = store.open_writer("lfs/aa/bb/fallback")
    for piece in pieces:
        writer.write(_page_buffer(piece))
    writer.commit()

    assert writer.direct_bytes == 0
    assert b"".join(store.read_range("lfs/aa/bb/fallback")) == b"".join(pieces)


def test_a_durable_direct_write_is_still_fsynced(store: LocalBlobStore, fsyncs: list[str]) -> None:
    _needs_o_direct(store)
    writer = store.open_writer("lfs/aa/bb/direct")
    writer.write(_page_buffer(os.urandom(4 * MiB)))
    writer.commit()

    assert writer.direct_bytes == 4 * MiB
    assert fsyncs[-1] == "fsync"  # the device's cache still has to be flushed
