"""Names and files git treats specially, so that nothing written through the API makes a tree git would refuse.

A path segment that a case-insensitive (macOS HFS+, Windows NTFS) checkout would open as ``.git`` lets a
clone overwrite its own repository; one that aliases ``.gitmodules`` or ``.gitattributes`` changes what a
checkout runs or filters. ``git fsck`` (and every ``git push`` to a server with ``receive.fsckObjects``, and every
clone with ``transfer.fsckObjects``) refuses such trees, and the ``.gitmodules`` / ``.gitattributes`` whose content
it finds dangerous. The checks below port git's own (``is_hfs_dotgit``, ``is_ntfs_dotgit``, ``is_ntfs_dot_generic``
in path.c and utf8.c, ``check_submodule_name`` / ``check_submodule_url`` in submodule-config.c and fsck.c), erring
on the strict side where a port would be long; the tests check each verdict against ``git fsck`` itself.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from hubstead.errors import InvalidCommitError

# code points HFS+ ignores when it compares names (git's next_hfs_char)
HFS_IGNORABLE = frozenset(
    "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u206a\u206b\u206c\u206d\u206e\u206f\ufeff"
)
GITMODULES, GITATTRIBUTES = ".gitmodules", ".gitattributes"
_SPECIAL_FILES = {"gitmodules": "gi7eba", "gitattributes": "gi7d29"}  # NTFS 8.3 fall-back prefixes, from git
MAX_GITATTRIBUTES_BYTES = 100 * 1024 * 1024  # past this git ignores the file, and fsck refuses it
MAX_GITATTRIBUTES_LINE = 2048
MAX_GITMODULES_BYTES = 512 * 1024 * 1024  # core.bigFileThreshold: fsck refuses larger .gitmodules


def _is_hfs_dot(segment: str, name: str) -> bool:
    """``segment`` reads as ``.<name>`` on HFS+: ASCII case folded, ignorable code points dropped."""
    folded = "".join(c for c in segment if c not in HFS_IGNORABLE)
    return folded.isascii() and folded.lower() == "." + name


def _only_spaces_and_periods(rest: bytes) -> bool:
    """What NTFS drops at the end of a name; an alternate data stream (``:``) ends it too."""
    for char in rest:
        if char == ord(":"):
            return True
        if char not in b". ":
            return False
    return True


def _is_ntfs_dotgit(segment: bytes) -> bool:
    head = segment[:5].lower()
    if head.startswith(b".git"):
        return _only_spaces_and_periods(segment[4:])
    return head == b"git~1" and _only_spaces_and_periods(segment[5:])


def _is_ntfs_dot(segment: bytes, name: bytes, short: bytes) -> bool:
    """``segment`` reads as ``.<name>`` on NTFS: trailing dots and spaces, 8.3 short names (``gitmod~1``)."""
    if segment[:1] == b"." and segment[1 : 1 + len(name)].lower() == name:
        return _only_spaces_and_periods(segment[1 + len(name) :])
    if segment[:6].lower() == name[:6] and segment[6:7] == b"~" and segment[7:8] in (b"1", b"2", b"3", b"4"):
        return _only_spaces_and_periods(segment[8:])
    i, saw_tilde = 0, False
    while i < 8:
        if i >= len(segment):
            return False
        char = segment[i]
        if saw_tilde:
            if not 0x30 <= char <= 0x39:
                return False
        elif char == ord("~"):
            i += 1
            if i >= len(segment) or not 0x31 <= segment[i] <= 0x39:
                return False
            saw_tilde = True
        elif i >= 6 or char & 0x80 or bytes([char]).lower() != short[i : i + 1]:
            return False
        i += 1
    return _only_spaces_and_periods(segment[8:])


def reserved_segment(segment: str, *, last: bool) -> str | None:
    """Why git would refuse ``segment`` of a path (``last``: the file name), or None."""
    raw = segment.encode("utf-8", "surrogatepass")
    if _is_hfs_dot(segment, "git") or _is_ntfs_dotgit(raw):
        return "'.git' (in any case or spelling a checkout reads as '.git') is reserved"
    for name, short in _SPECIAL_FILES.items():
        if not (_is_hfs_dot(segment, name) or _is_ntfs_dot(raw, name.encode(), short.encode())):
            continue
        if segment != f".{name}":
            return f"'{segment}' would be read as '.{name}' by a checkout"
        if not last:
            return f"'.{name}' must be a file, not a folder"
    return None


# --- content of .gitattributes and .gitmodules ----------------------------------------------------------------


def check_git_file(path: str, content: bytes) -> None:
    """Refuse a ``.gitattributes`` or ``.gitmodules`` that ``git fsck`` would flag (InvalidCommitError)."""
    name = path.rsplit("/", 1)[-1]
    if name == GITATTRIBUTES:
        if len(content) > MAX_GITATTRIBUTES_BYTES:
            raise InvalidCommitError(f"{path}: git refuses a .gitattributes larger than 100 MiB")
        lines = content.split(b"\0", 1)[0].split(b"\n")  # as fsck reads it: up to a NUL, "\r" counted
        if any(len(line) >= MAX_GITATTRIBUTES_LINE for line in lines):
            raise InvalidCommitError(
                f"{path}: git refuses .gitattributes lines of {MAX_GITATTRIBUTES_LINE} bytes or more"
            )
    elif name == GITMODULES:
        if len(content) > MAX_GITMODULES_BYTES:
            raise InvalidCommitError(f"{path}: git refuses a .gitmodules this large")
        problem = gitmodules_problem(content)
        if problem:
            raise InvalidCommitError(f"{path}: {problem}")


def gitmodules_problem(content: bytes) -> str | None:
    """What ``git fsck`` refuses in a ``.gitmodules`` (or what this parser cannot read), else None."""
    try:
        entries = list(_config_entries(content.decode("utf-8")))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"could not read .gitmodules ({exc})"
    for section, subsection, key, value in entries:
        if section != "submodule" or subsection is None:
            continue
        if not subsection or any(part == ".." for part in subsection.replace("\\", "/").split("/")):
            return f"disallowed submodule name {subsection!r}"
        if value is None:
            continue
        if key == "url" and not _safe_submodule_url(value):
            return f"disallowed submodule url {value!r}"
        if key == "path" and value.startswith("-"):
            return f"disallowed submodule path {value!r}"
        if key == "update" and value.startswith("!"):
            return f"disallowed submodule update setting {value!r}"
    return None


def _safe_submodule_url(url: str) -> bool:
    """A strict reading of git's check_submodule_url: no option-like URL, no control character once
    percent-decoded, no ``:`` in a relative URL (it could climb into the host part), a host for http(s)/ftp(s)."""
    decoded = unquote_to_bytes(url)
    if url.startswith("-") or any(c < 32 or c == 127 for c in decoded):
        return False
    if url.startswith(("./", "../")):
        return ":" not in url
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in ("http", "https", "ftp", "ftps"):
        host = rest.split("/", 1)[0].rpartition("@")[2]
        return bool(host) and not host.startswith(":")
    return True


_ESCAPES = {"n": "\n", "t": "\t", "b": "\b", "\\": "\\", '"': '"'}


def _config_entries(text: str) -> list[tuple[str, str | None, str, str | None]]:
    """(section, subsection, key, value) of git-config text; ValueError where git's syntax is not met."""
    out: list[tuple[str, str | None, str, str | None]] = []
    section: tuple[str, str | None] | None = None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].lstrip(" \t\r")
        i += 1
        if line.startswith("["):
            section, line = _section_header(line)
            line = line.lstrip(" \t\r")
        if not line or line[0] in "#;":
            continue
        if section is None:
            raise ValueError("a key before any section")
        key, rest = _key(line)
        value, i = _value(rest, lines, i)
        out.append((section[0], section[1], key, value))
    return out


def _section_header(line: str) -> tuple[tuple[str, str | None], str]:
    """``[section]``, ``[section "sub"]`` or the legacy ``[section.sub]``; and what follows the ``]``."""
    pos = 1
    while pos < len(line) and line[pos].isascii() and (line[pos].isalnum() or line[pos] in "-."):
        pos += 1
    name = line[1:pos].lower()
    if not name:
        raise ValueError("an empty section name")
    if line[pos : pos + 1] == "]":
        section, dot, legacy = name.partition(".")
        return (section, legacy if dot else None), line[pos + 1 :]
    while line[pos : pos + 1] in (" ", "\t"):
        pos += 1
    if line[pos : pos + 1] != '"':
        raise ValueError("a malformed section header")
    sub: list[str] = []
    pos += 1
    while pos < len(line):
        char = line[pos]
        if char == '"':
            if line[pos + 1 : pos + 2] != "]":
                raise ValueError("a malformed section header")
            return (name, "".join(sub)), line[pos + 2 :]
        if char == "\\":
            pos += 1
            if pos >= len(line):
                raise ValueError("an unterminated section header")
            char = line[pos]
        sub.append(char)
        pos += 1
    raise ValueError("an unterminated section header")


def _key(line: str) -> tuple[str, str]:
    end = 0
    while end < len(line) and line[end].isascii() and (line[end].isalnum() or line[end] == "-"):
        end += 1
    key = line[:end]
    if not key or not key[0].isalpha():
        raise ValueError(f"an invalid key {line[:20]!r}")
    return key.lower(), line[end:].lstrip(" \t")


def _value(rest: str, lines: list[str], i: int) -> tuple[str | None, int]:
    """The value after a key, read as git's parse_value reads it (None for a bare boolean key); continuation
    lines are consumed, and ``i`` moved past them."""
    if not rest.rstrip("\r"):
        return None, i
    if rest[0] != "=":
        raise ValueError("expected '=' after a key")
    text, quoted, spaces = rest[1:], False, 0
    out: list[str] = []
    while True:
        pos = 0
        while pos < len(text):
            char = text[pos]
            pos += 1
            if char in " \t\r" and not quoted:
                spaces += 1 if out else 0
                continue
            if char in "#;" and not quoted:
                return "".join(out), i
            out.append(" " * spaces)
            spaces = 0
            if char == "\\":
                if pos >= len(text):
                    break  # a line continuation
                escaped = _ESCAPES.get(text[pos])
                if escaped is None:
                    raise ValueError("an invalid escape in a value")
                out.append(escaped)
                pos += 1
            elif char == '"':
                quoted = not quoted
            else:
                out.append(char)
        else:
            if quoted:
                raise ValueError("an unterminated quote in a value")
            return "".join(out), i
        if i >= len(lines):
            raise ValueError("a continuation at the end of the file")
        text, i = lines[i], i + 1
