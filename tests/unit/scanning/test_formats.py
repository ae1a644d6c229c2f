"""The safetensors header check: every way a header can lie about the bytes after it, and honest headers."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest

from hubstead.scanning.formats import HeaderError, check_header, header_length, scan_format
from hubstead.scanning.models import ScanFormat
from tests.scanning_files import safetensors_bytes


def build(tensors: dict[str, Any], data: int) -> tuple[bytes, int]:
    header = json.dumps(tensors).encode()
    return header, 8 + len(header) + data


def test_a_file_written_by_the_safetensors_library_passes() -> None:
    data = safetensors_bytes()
    length = header_length(data[:8], len(data))
    assert check_header(data[8 : 8 + length], len(data)) == 2


@pytest.mark.parametrize(
    ("tensors", "data", "problem"),
    [
        ({"w": {"dtype": "F32", "shape": [1024], "data_offsets": [0, 4096]}}, 16, "cover 4096 bytes"),
        ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}, 12, "needs 16 bytes"),
        ({"w": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}}, 4, "unknown dtype"),
        ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, 4, "shape"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, 4, "ends"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "code": "x"}}, 4, "exactly"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
          "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, 12, "overlaps"),
        ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
          "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, 12, "gap"),
        ({"__metadata__": {"format": 1}, "w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, 1, "strings"),
        ({"w": {"dtype": "F4", "shape": [3], "data_offsets": [0, 1]}}, 1, "needs 1.5 bytes"),
        ({"w": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, 4, "shape"),
    ],
)  # fmt: skip
def test_a_lying_header_is_refused(tensors: dict[str, Any], data: int, problem: str) -> None:
    header, size = build(tensors, data)
    with pytest.raises(HeaderError, match=problem):
        check_header(header, size)


def test_a_name_given_twice_is_refused() -> None:
    header = b'{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "w": {"dtype": "U8", "shape": [1], ' \
        b'"data_offsets": [0, 1]}}'  # fmt: skip
    with pytest.raises(HeaderError, match="twice"):
        check_header(header, 8 + len(header) + 1)


@pytest.mark.parametrize("header", [b"[1, 2]", b"{not json", b"\xff\xfe{}", b"{" * 100_000 + b"}" * 100_000])
def test_a_header_that_is_not_a_json_object_is_refused(header: bytes) -> None:
    with pytest.raises(HeaderError):
        check_header(header, 8 + len(header))


@pytest.mark.parametrize(
    ("length", "size", "problem"),
    [(200_000_000, 300_000_000, "limit"), (100, 50, "only"), (0, 4, "too short")],
)
def test_the_length_must_fit_the_file_and_the_format(length: int, size: int, problem: str) -> None:
    with pytest.raises(HeaderError, match=problem):
        header_length(struct.pack("<Q", length), size)


def test_zero_sized_tensors_and_sub_byte_dtypes_add_up() -> None:
    header, size = build(
        {
            "empty": {"dtype": "F32", "shape": [0, 5], "data_offsets": [0, 0]},
            "packed": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]},
            "__metadata__": {"note": "fine"},
        },
        2,
    )
    assert check_header(header, size) == 2


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("model.safetensors", ScanFormat.SAFETENSORS),
        ("sub/pytorch_model.BIN", ScanFormat.PICKLE),
        ("ckpt/epoch=1.ckpt", ScanFormat.PICKLE),
        ("data.npz", ScanFormat.PICKLE),
        ("clf.joblib", ScanFormat.PICKLE),
        ("README.md", None),
        ("model.onnx", None),
        ("safetensors", None),
    ],
)
def test_which_files_are_scanned(path: str, fmt: ScanFormat | None) -> None:
    assert scan_format(path) is fmt
