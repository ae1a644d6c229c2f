"""Git-LFS pointer files, as git-lfs writes them (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md)."""

from __future__ import annotations

import hashlib

import pytest

from hubstead.objects import blob_key
from hubstead.repos.lfs_pointer import MAX_POINTER_SIZE, LfsPointer, parse_pointer

OID = hashlib.sha256(b"weights").hexdigest()
POINTER = f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID}\nsize 7\n".encode()


def test_render_writes_the_canonical_pointer() -> None:
    assert LfsPointer(oid=OID, size=7).render() == POINTER


@pytest.mark.parametrize("size", [0, 1, 7, 2**40])
def test_rendered_pointer_parses_back(size: int) -> None:
    pointer = LfsPointer(oid=OID, size=size)

    assert parse_pointer(pointer.render()) == pointer


def test_pointer_with_extension_lines_is_recognised() -> None:
    lines = [
        "version https://git-lfs.github.com/spec/v1",
        f"ext-0-foo sha256:{'1' * 64}",
        f"oid sha256:{OID}",
        "size 12345",
    ]
    data = "".join(f"{line}\n" for line in lines).encode()

    assert parse_pointer(data) == LfsPointer(oid=OID, size=12345)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world\n",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        POINTER.rstrip(b"\n"),  # the last line must end with a newline
        POINTER.replace(b"spec/v1", b"spec/v2"),
        POINTER.replace(OID.encode(), OID.upper().encode()),
        POINTER.replace(OID.encode(), OID[:-1].encode()),
        POINTER.replace(b"sha256:", b"sha512:"),
        POINTER.replace(b"size 7", b"size -7"),
        POINTER.replace(b"size 7", b"size seven"),
        f"version https://git-lfs.github.com/spec/v1\nsize 7\noid sha256:{OID}\n".encode(),  # keys out of order
        f"oid sha256:{OID}\nsize 7\n".encode(),  # no version line
        POINTER + b"x" * MAX_POINTER_SIZE,  # pointers are small; a big file never is one
    ],
)
def test_non_pointers_are_not_recognised(data: bytes) -> None:
    assert parse_pointer(data) is None


def test_blob_key_shards_by_oid_prefix() -> None:
    assert blob_key(OID) == f"lfs/{OID[:2]}/{OID[2:4]}/{OID}"
