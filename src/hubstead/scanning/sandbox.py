"""The scanners run here, in a child process with a memory and CPU-time limit: what they parse is hostile by
assumption, and a pickle crafted to exhaust the scanner then fails one scan (``error``), not the hub.

``python -m hubstead.scanning.sandbox FORMAT PATH SIZE`` prints one JSON object: ``verdict``, ``imports``,
``message``, ``scanner``, ``version``. It imports nothing of Hubstead but this module and ``formats``. Nothing
here unpickles: picklescan disassembles the opcodes (``pickletools.genops``) and lists the globals they import.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

PICKLESCAN = "picklescan"
HEADER_CHECK = "hubstead-safetensors"
NUMPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
SAFETY_RANK = {"innocuous": 0, "suspicious": 1, "dangerous": 2}


@dataclass(frozen=True)
class Finding:
    """What one scan of one file found (the child's answer, or the parent's account of the child's failure)."""

    verdict: str
    scanner: str
    version: str
    imports: list[dict[str, str]] | None = None
    message: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float
    memory_bytes: int


def run(fmt: str, path: Path, size: int, limits: Limits) -> Finding:
    """Scan the file at ``path`` (``size``: the whole file's size; for safetensors ``path`` holds its header
    prefix only) in a child process; a child that fails or overruns its limits is an ``error``."""
    scanner = PICKLESCAN if fmt == "pickle" else HEADER_CHECK
    argv = [sys.executable, "-m", "hubstead.scanning.sandbox", fmt, str(path), str(size), str(limits.memory_bytes)]
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(
            argv, capture_output=True, timeout=limits.timeout_seconds, check=False, stdin=subprocess.DEVNULL, env=env
        )
    except subprocess.TimeoutExpired:
        return Finding("error", scanner, "", message=f"the scan took longer than {limits.timeout_seconds:g} s")
    try:
        answer = json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])
        return Finding(
            answer["verdict"], answer["scanner"], answer["version"], answer.get("imports"), answer.get("message")
        )
    except (IndexError, KeyError, TypeError, ValueError):
        reason = "ran out of memory" if b"MemoryError" in done.stderr else f"exited with status {done.returncode}"
        return Finding("error", scanner, "", message=f"the scanner {reason} before it finished")


# --- the child ---------------------------------------------------------------------------------------------


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    import resource
    import signal

    sys.dont_write_bytecode = True
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails rather than kill the scan
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # a scanner writes no files


def scan_pickle(data: IO[bytes]) -> dict[str, Any]:
    """picklescan over a seekable stream, chosen by content rather than by name (a loader does not care what a
    file is called): zip archives (PyTorch's format included) member by member, numpy arrays (their object
    pickles), legacy PyTorch files and plain pickles (every pickle in the stream)."""
    from picklescan import scanner

    head = data.read(8)
    data.seek(0)
    if head.startswith(NUMPY_MAGIC):
        result = scanner.scan_numpy(data, "file")
    else:
        # the PyTorch path takes zip archives, the legacy format, and falls back to plain pickles
        result = scanner.scan_bytes(data, "file", ".pt")
    imports = {(g.module, g.name): g.safety.value for g in result.globals}
    listed = [{"module": m, "name": n, "safety": s} for (m, n), s in sorted(imports.items())]
    worst = max((SAFETY_RANK[s] for s in imports.values()), default=0)
    verdict = ("safe", "suspicious", "unsafe")[worst]
    message = None
    if result.scan_err:
        message = "the pickle could not be parsed to its end: its imports may be incomplete"
        verdict = "unsafe" if verdict == "unsafe" else "suspicious"
    return {"verdict": verdict, "imports": listed, "message": message, "scanner": PICKLESCAN,
            "version": metadata.version("picklescan")}  # fmt: skip


def check_safetensors(prefix: bytes, size: int) -> dict[str, Any]:
    from hubstead import __version__
    from hubstead.scanning.formats import HeaderError, check_header, header_length

    out: dict[str, Any] = {"scanner": HEADER_CHECK, "version": __version__, "imports": None}
    try:
        length = header_length(prefix, size)
        count = check_header(prefix[8 : 8 + length], size)
    except HeaderError as exc:
        return out | {"verdict": "unsafe", "message": f"Invalid safetensors header: {exc}"}
    return out | {"verdict": "safe", "message": f"Valid safetensors header ({count} tensors)"}


def main(argv: list[str]) -> int:
    fmt, path, size, memory = argv[0], Path(argv[1]), int(argv[2]), int(argv[3])
    _limit(memory, 3600)
    try:
        if fmt == "pickle":
            with path.open("rb") as data:
                answer = scan_pickle(data)
        else:
            answer = check_safetensors(path.read_bytes(), size)
    except MemoryError:
        answer = {"verdict": "error", "message": "the scanner ran out of memory before it finished"}
    except Exception as exc:  # a scanner's failure on hostile input is a finding, not a crash
        answer = {"verdict": "error", "message": f"the scanner failed: {type(exc).__name__}: {str(exc)[:300]}"}
    answer.setdefault("scanner", PICKLESCAN if fmt == "pickle" else HEADER_CHECK)
    answer.setdefault("version", "")
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8")
    out.write(json.dumps(answer) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
