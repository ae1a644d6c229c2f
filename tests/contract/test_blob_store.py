"""The BlobStore contract, run against every implementation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hubstead.errors import BlobNotFoundError, InvalidInputError
from hubstead.storage import BlobStore, InMemoryBlobStore, LocalBlobStore

KEY = "lfs/ab/cd/abcdef"
DATA = bytes(range(256)) * 4  # 1 KiB, every byte value
BIG = bytes(range(251)) * (9 * 1024 * 1024 // 251)  # about 9 MiB: spans several read chunks

STORES: dict[str, Callable[[Path], BlobStore]] = {
    "local": lambda tmp_path: LocalBlobStore(tmp_path / "blobs"),
    "memory": lambda tmp_path: InMemoryBlobStore(),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return STORES[request.param](tmp_path)


def read(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.read_range(key, start, end))


def test_put_then_read_back(store: BlobStore) -> None:
    store.put(KEY, DATA)

    assert store.exists(KEY)
    assert store.size(KEY) == len(DATA)
    assert read(store, KEY) == DATA


def test_put_overwrites(store: BlobStore) -> None:
    store.put(KEY, b"old contents")
    store.put(KEY, b"new")

    assert read(store, KEY) == b"new"
    assert store.size(KEY) == 3


def test_empty_blob(store: BlobStore) -> None:
    store.put(KEY, b"")

    assert store.exists(KEY)
    assert store.size(KEY) == 0
    assert read(store, KEY) == b""


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, None), (0, len(DATA)), (10, 20), (0, 1), (len(DATA) - 1, None), (300, None), (500, 10_000)],
)
def test_read_range(store: BlobStore, start: int, end: int | None) -> None:
    store.put(KEY, DATA)

    assert read(store, KEY, start, end) == DATA[start:end]


def test_read_past_the_end_is_empty(store: BlobStore) -> None:
    store.put(KEY, DATA)

    assert read(store, KEY, len(DATA) + 10) == b""


@pytest.mark.parametrize(("start", "end"), [(0, None), (1024 * 1024 - 3, 2 * 1024 * 1024 + 5), (len(BIG) - 7, None)])
def test_read_range_across_chunks_of_a_large_blob(store: BlobStore, start: int, end: int | None) -> None:
    store.put(KEY, BIG)

    assert read(store, KEY, start, end) == BIG[start:end]


def test_keys_are_independent(store: BlobStore) -> None:
    store.put("a/one", b"1")
    store.put("a/two", b"22")

    assert (read(store, "a/one"), read(store, "a/two")) == (b"1", b"22")


def test_writer_is_invisible_until_commit(store: BlobStore) -> None:
    writer = store.open_writer(KEY)
    writer.write(DATA[:100])
    writer.write(DATA[100:])

    assert not store.exists(KEY)
    writer.commit()
    assert store.exists(KEY)
    assert read(store, KEY) == DATA


def test_writer_commit_replaces_an_existing_blob(store: BlobStore) -> None:
    store.put(KEY, b"old")
    writer = store.open_writer(KEY)
    writer.write(b"new")

    assert read(store, KEY) == b"old"
    writer.commit()
    assert read(store, KEY) == b"new"


def test_aborted_writer_leaves_nothing(store: BlobStore) -> None:
    writer = store.open_writer(KEY)
    writer.write(DATA)
    writer.abort()

    assert not store.exists(KEY)
    with pytest.raises(BlobNotFoundError):
        store.size(KEY)


def test_aborted_writer_keeps_the_previous_blob(store: BlobStore) -> None:
    store.put(KEY, b"old")
    writer = store.open_writer(KEY)
    writer.write(b"new")
    writer.abort()

    assert read(store, KEY) == b"old"


def test_delete_removes_the_blob(store: BlobStore) -> None:
    store.put(KEY, DATA)
    store.delete(KEY)

    assert not store.exists(KEY)


def test_deleting_a_missing_key_is_fine(store: BlobStore) -> None:
    store.delete("lfs/00/00/missing")

    assert not store.exists("lfs/00/00/missing")


def test_missing_key_does_not_exist(store: BlobStore) -> None:
    assert not store.exists("lfs/00/00/missing")


def test_size_of_a_missing_key_raises(store: BlobStore) -> None:
    with pytest.raises(BlobNotFoundError):
        store.size("lfs/00/00/missing")


def test_read_range_of_a_missing_key_raises_before_streaming(store: BlobStore) -> None:
    # raising on the call, not on the first chunk, lets a route answer 404 before it starts a response
    with pytest.raises(BlobNotFoundError):
        store.read_range("lfs/00/00/missing")


def test_local_path_is_a_file_with_the_bytes_or_none(store: BlobStore) -> None:
    store.put(KEY, DATA)

    path = store.local_path(KEY)

    assert path is None or path.read_bytes() == DATA
    assert store.local_path("lfs/00/00/missing") is None


# --- LocalBlobStore only ------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "../x", "a/../../x", "/abs", "a//b", "./a", "a/.", ".tmp/upload-1"])
def test_local_store_refuses_keys_that_escape_or_hit_its_temp_folder(tmp_path: Path, key: str) -> None:
    store = LocalBlobStore(tmp_path / "blobs")

    with pytest.raises(InvalidInputError):
        store.put(key, b"x")
    assert not (tmp_path / "x").exists()


def test_local_store_aborted_writer_leaves_no_temp_file(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    writer = store.open_writer(KEY)
    writer.write(DATA)
    writer.abort()

    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []


def test_local_store_committed_writer_leaves_no_temp_file(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    writer = store.open_writer(KEY)
    writer.write(DATA)
    writer.commit()

    assert [p.relative_to(tmp_path / "blobs").as_posix() for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [
        KEY
    ]
