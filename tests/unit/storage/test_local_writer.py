"""LocalBlobStore writers: durable ones flush to disk as they go; intermediate ones (multipart parts) may not."""

from __future__ import annotations

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
    for _ in range(4):
        writer.write(bytearray(MiB))
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
