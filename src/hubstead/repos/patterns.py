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
        bracket = _bracket(pattern, i) if pattern[i] == "[" else None
        if bracket is not None:
            out.append(bracket[0])
            i = bracket[1]
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


_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "blank": " \\t",
    "digit": "0-9",
    "lower": "a-z",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "space": "\\s",
    "upper": "A-Z",
    "xdigit": "0-9a-fA-F",
}


def _bracket(pattern: str, start: int) -> tuple[str, int] | None:
    """The regex for the bracket expression at ``pattern[start] == "["`` and the index after it;
    None when it is not closed (the ``[`` is then literal). Like git, a bracket never matches ``/``."""
    negated = pattern.startswith(("[!", "[^"), start)
    first = i = start + 1 + negated
    items: list[str] = []
    while i < len(pattern):
        char = pattern[i]
        if char == "]" and i > first:  # a "]" right after the opening is a literal
            body = "".join(items)
            return (f"[^/{body}]" if negated else f"(?!/)[{body}]"), i + 1
        if char == "[" and pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end != -1 else ""
            if name in _POSIX_CLASSES:
                items.append(_POSIX_CLASSES[name])
                i = end + 2
                continue
        if char == "\\" and i + 1 < len(pattern):
            i += 1
            char = pattern[i]
        if pattern.startswith("-", i + 1) and i + 2 < len(pattern) and pattern[i + 2] != "]":
            items.append(f"{re.escape(char)}-{re.escape(pattern[i + 2])}")
            i += 3
            continue
        items.append(re.escape(char))
        i += 1
    return None


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
        if pattern.startswith("!"):
            continue  # git ignores negative patterns in attributes files
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
    if escaped.startswith(("#", "!")):  # a comment, or a negative pattern git refuses
        escaped = "\\" + escaped
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
        # as git: each folder, then the file, is judged by the last rule matching it, and nothing
        # inside an excluded folder can be re-included
        parts = path.split("/")
        for i in range(len(parts)):
            candidate, is_folder = "/".join(parts[: i + 1]), i < len(parts) - 1
            excluded = False
            for pattern, negated, folder_only in rules:
                if (is_folder or not folder_only) and _matches(pattern, candidate):
                    excluded = not negated
            if excluded:
                return True
        return False

    return is_ignored
