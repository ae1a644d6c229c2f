"""Git-LFS pointer files: build them and recognise them."""

from __future__ import annotations

import re
from dataclasses import dataclass

SPEC = "https://git-lfs.github.com/spec/v1"
MAX_POINTER_SIZE = 1024
MIN_POINTER_SIZE = len(f"version {SPEC}\noid sha256:{'0' * 64}\nsize 0\n")  # smaller files are content
_POINTER = re.compile(
    rb"^version https://git-lfs\.github\.com/spec/v1\n(?:[a-z0-9.-]+ [^\n]*\n)*?oid sha256:([0-9a-f]{64})\n"
    rb"(?:[a-z0-9.-]+ [^\n]*\n)*?size (\d+)\n"
)
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class LfsPointer:
    oid: str
    size: int

    def render(self) -> bytes:
        return f"version {SPEC}\noid sha256:{self.oid}\nsize {self.size}\n".encode()


def parse_pointer(data: bytes) -> LfsPointer | None:
    if len(data) > MAX_POINTER_SIZE or not data.startswith(b"version "):
        return None
    match = _POINTER.match(data)
    if match is None:
        return None
    return LfsPointer(oid=match.group(1).decode(), size=int(match.group(2)))
