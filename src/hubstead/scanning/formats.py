"""Which files are scanned, and the safetensors header check.

The header check reads only the header (the 8-byte length and the JSON it announces), never the tensors: the
header must describe exactly the bytes that follow it, so that no loader is led outside the file or into
overlapping tensors by what it promises."""

from __future__ import annotations

import json
import posixpath
import struct
from typing import Any

from hubstead.scanning.models import ScanFormat

# what picklescan reads: PyTorch (zip and legacy), pickles, joblib, numpy, and zip archives of them
PICKLE_SUFFIXES = frozenset(
    {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".dat", ".npy", ".npz", ".zip"}
)
SAFETENSORS_SUFFIX = ".safetensors"
MAX_HEADER_SIZE = 100_000_000  # as the safetensors library
# bits per element of each dtype the format knows
DTYPE_BITS = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E4M3": 8,
    "F8_E5M2": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "F64": 64,
    "I64": 64,
    "U64": 64,
    "C64": 64,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}
TENSOR_KEYS = frozenset({"dtype", "shape", "data_offsets"})


def scan_format(path: str) -> ScanFormat | None:
    """The scanner a file at ``path`` needs, by its name (None: no scanner applies)."""
    suffix = posixpath.splitext(path.lower())[1]
    if suffix == SAFETENSORS_SUFFIX:
        return ScanFormat.SAFETENSORS
    if suffix in PICKLE_SUFFIXES:
        return ScanFormat.PICKLE
    return None


class HeaderError(Exception):
    """What is wrong with a safetensors header, in one sentence."""


def header_length(prefix: bytes, total_size: int) -> int:
    """The JSON header's length from the file's first 8 bytes; HeaderError if it cannot be one."""
    if total_size < 8 or len(prefix) < 8:
        raise HeaderError(f"the file has {total_size} bytes: too short for a safetensors header")
    (length,) = struct.unpack("<Q", prefix[:8])
    if length > MAX_HEADER_SIZE:
        raise HeaderError(f"the header claims {length} bytes, more than the format's limit of {MAX_HEADER_SIZE}")
    if 8 + length > total_size:
        raise HeaderError(f"the header claims {length} bytes, but the file has only {total_size - 8} after its length")
    return int(length)


def check_header(header: bytes, total_size: int) -> int:
    """Check a safetensors header (the JSON after the length) against a file of ``total_size`` bytes; returns
    the number of tensors, raises HeaderError."""
    if not header.startswith(b"{"):
        raise HeaderError("the header is not a JSON object")
    try:
        parsed = json.loads(header.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise HeaderError(f"the header is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(parsed, dict):
        raise HeaderError("the header is not a JSON object")
    _check_metadata(parsed.pop("__metadata__", None))
    data_size = total_size - 8 - len(header)
    spans = sorted(_tensor_span(name, info) for name, info in parsed.items())
    position = 0
    for start, end, name in spans:
        if start != position:
            kind = "overlaps another tensor" if start < position else f"leaves a gap before it (at byte {position})"
            raise HeaderError(f"tensor {name!r} starts at byte {start}, which {kind}")
        position = end
    if position != data_size:
        raise HeaderError(f"the tensors cover {position} bytes, but the file holds {data_size} after its header")
    return len(spans)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise HeaderError(f"the header names {key!r} twice")
        out[key] = value
    return out


def _check_metadata(metadata: Any) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise HeaderError("__metadata__ must map strings to strings")


def _tensor_span(name: str, info: Any) -> tuple[int, int, str]:
    """(start, end, name) of a tensor in the data section, after checking that its description adds up."""
    if not isinstance(info, dict) or set(info) != TENSOR_KEYS:
        raise HeaderError(f"tensor {name!r} must have exactly dtype, shape and data_offsets")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        raise HeaderError(f"tensor {name!r} has an unknown dtype {str(dtype)[:40]!r}")
    if not isinstance(shape, list) or not all(_natural(d) for d in shape):
        raise HeaderError(f"tensor {name!r} has a shape that is not a list of non-negative integers")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_natural(o) for o in offsets):
        raise HeaderError(f"tensor {name!r} has data_offsets that are not two non-negative integers")
    start, end = offsets
    if end < start:
        raise HeaderError(f"tensor {name!r} ends (byte {end}) before it starts (byte {start})")
    bits = DTYPE_BITS[dtype]
    for dim in shape:
        bits *= dim
    if bits % 8 or bits // 8 != end - start:
        raise HeaderError(
            f"tensor {name!r}: {dtype} of shape {shape} needs {bits / 8:g} bytes, its offsets span {end - start}"
        )
    return start, end, name


def _natural(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
