"""The scanners in their child process: picklescan's verdicts on pickles built here (never loaded), PyTorch
checkpoints in both formats, numpy object arrays, safetensors headers, and a scan that overruns its limits."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import pytest

from hubstead.scanning import sandbox
from tests.scanning_files import (
    clean_pickle,
    clean_torch,
    evil_pickle,
    evil_torch,
    lying_safetensors,
    npy_with_objects,
    safetensors_bytes,
)

LIMITS = sandbox.Limits(timeout_seconds=120, memory_bytes=2 * 1024**3)
OS_SYSTEM = {"module": "posix", "name": "system", "safety": "dangerous"}


def scan(tmp_path: Path, data: bytes, fmt: str = "pickle", limits: sandbox.Limits = LIMITS) -> sandbox.Finding:
    path = tmp_path / "content"
    path.write_bytes(data)
    return sandbox.run(fmt, path, len(data), limits)


def zipped(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("README.txt", "an archive of checkpoints")
        archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        evil_pickle(),
        evil_pickle(protocol=0),
        evil_torch(),
        evil_torch(zip_format=False),
        zipped("model/checkpoint.pkl", evil_pickle()),
        npy_with_objects(),
    ],
    ids=["pickle", "pickle-protocol-0", "torch-zip", "torch-legacy", "zip-archive", "npy-object-array"],
)
def test_a_pickle_that_runs_a_command_is_unsafe(tmp_path: Path, data: bytes) -> None:
    finding = scan(tmp_path, data)
    assert finding.verdict == "unsafe"
    assert OS_SYSTEM in (finding.imports or [])
    assert finding.scanner == "picklescan"
    assert finding.version


@pytest.mark.parametrize(
    "data",
    [clean_torch(), clean_pickle(), zipped("a.pkl", clean_pickle()), pickle.dumps(list(range(1000)))],
    ids=["torch-state-dict", "joblib-like-pickle", "zip-archive", "plain-data"],
)
def test_clean_pickles_are_safe(tmp_path: Path, data: bytes) -> None:
    finding = scan(tmp_path, data)
    assert finding.verdict == "safe", finding
    assert all(i["safety"] == "innocuous" for i in finding.imports or [])


def test_a_torch_checkpoint_lists_its_imports(tmp_path: Path) -> None:
    imports = scan(tmp_path, clean_torch()).imports or []
    assert {"module": "torch._utils", "name": "_rebuild_tensor_v2", "safety": "innocuous"} in imports


def test_an_import_not_known_to_be_safe_is_suspicious(tmp_path: Path) -> None:
    finding = scan(tmp_path, pickle.dumps(Path("x")))  # pathlib.PosixPath: harmless, but not on the safe list
    assert finding.verdict == "suspicious"
    assert {"module": "pathlib", "name": "PosixPath", "safety": "suspicious"} in (finding.imports or [])


def test_bytes_that_are_no_pickle_are_safe(tmp_path: Path) -> None:
    assert scan(tmp_path, b"GGUF" + bytes(range(256)) * 16).verdict == "safe"


def test_a_safetensors_header_is_checked(tmp_path: Path) -> None:
    good, bad = safetensors_bytes(), lying_safetensors()
    assert scan(tmp_path, good, "safetensors").verdict == "safe"
    finding = scan(tmp_path, bad, "safetensors")
    assert finding.verdict == "unsafe"
    assert "Invalid safetensors header" in (finding.message or "")


def test_a_scan_past_its_memory_limit_is_an_error_not_a_crash(tmp_path: Path) -> None:
    # one pickle opcode whose argument is 250 MB: picklescan reads it whole, the child's 200 MiB cannot hold it
    payload = pickle.dumps(b"\x00" * 250_000_000, protocol=4)
    finding = scan(tmp_path, payload, limits=sandbox.Limits(timeout_seconds=120, memory_bytes=200 * 1024**2))
    assert finding.verdict == "error"
    assert "memory" in (finding.message or "") or "exited" in (finding.message or "")


def test_a_scan_past_its_time_limit_is_an_error(tmp_path: Path) -> None:
    finding = scan(tmp_path, evil_pickle(), limits=sandbox.Limits(timeout_seconds=0.001, memory_bytes=2 * 1024**3))
    assert finding.verdict == "error"
    assert "longer than" in (finding.message or "")
