"""Path patterns of ``.gitattributes`` (which files are LFS) and ``.gitignore`` (which are ignored)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

LFS_ATTRIBUTE = "filter=lfs"


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    """Translate a git wildmatch pattern to a regex over a full ``/``-separated path."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("[[:space:]]", i):
            out.append(r"\s")
            i += len("[[:space:]]")
        elif pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _matches(pattern: str, path: str) -> bool:
    if "/" in pattern.rstrip("/"):
        return bool(_compile(pattern.lstrip("/")).match(path))
    basename = path.rsplit("/", 1)[-1]
    return bool(_compile(pattern).match(basename))


def lfs_matcher(gitattributes: str) -> Callable[[str], bool]:
    """A predicate telling whether ``.gitattributes`` marks a path as LFS (last matching line wins)."""
    rules: list[tuple[str, bool]] = []
    for line in gitattributes.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pattern, *attrs = line.split()
        if LFS_ATTRIBUTE in attrs:
            rules.append((pattern, True))
        elif "-filter" in attrs or "!filter" in attrs:
            rules.append((pattern, False))

    def is_lfs(path: str) -> bool:
        verdict = False
        for pattern, lfs in rules:
            if _matches(pattern, path):
                verdict = lfs
        return verdict

    return is_lfs


def lfs_attribute_line(path: str) -> str:
    escaped = re.sub(r"([*?\[\]\\])", r"\\\1", path).replace(" ", "[[:space:]]")
    return f"{escaped} filter=lfs diff=lfs merge=lfs -text"


def ignore_matcher(gitignore: str) -> Callable[[str], bool]:
    """A predicate telling whether ``.gitignore`` ignores a path (or one of its folders)."""
    rules: list[tuple[str, bool, bool]] = []  # pattern, negated, only folders
    for line in gitignore.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        line = line.rstrip()
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        folder_only = pattern.endswith("/")
        rules.append((pattern.rstrip("/"), negated, folder_only))

    def is_ignored(path: str) -> bool:
        parts = path.split("/")
        candidates = [("/".join(parts[: i + 1]), i < len(parts) - 1) for i in range(len(parts))]
        ignored = False
        for pattern, negated, folder_only in rules:
            for candidate, is_folder in candidates:
                if folder_only and not is_folder:
                    continue
                if _matches(pattern, candidate):
                    ignored = not negated
                    break
        return ignored

    return is_ignored
