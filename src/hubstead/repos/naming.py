"""Repo ids and paths inside repos: what is accepted, and the clear errors for what is not."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hubstead.errors import InvalidPathError, InvalidRepoNameError
from hubstead.repos.git_files import reserved_segment
from hubstead.repos.models import RepoType

REPO_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$")
FORBIDDEN_PATH_PARTS = frozenset({"", ".", ".."})
MAX_PATH_LENGTH = 1024
PSEUDO_REF = re.compile(r"[A-Z_]*HEAD")
FULL_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
INVISIBLE_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u206a\u206b\u206c\u206d\u206e\u206f\ufeff"
)


@dataclass(frozen=True)
class RepoRef:
    type: RepoType
    namespace: str
    name: str

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def storage_key(self) -> str:
        return f"{self.type.value}s/{self.namespace}/{self.name}"


def validate_repo_name(name: str) -> str:
    if not REPO_NAME.fullmatch(name) or "--" in name or ".." in name or name.lower().endswith(".git"):
        raise InvalidRepoNameError(
            f"Invalid repo name {name!r}: use letters, digits, '-', '_' or '.', start and end with a letter "
            "or digit, at most 96 characters, no '--' or '..', not ending in '.git'"
        )
    return name


def parse_repo_id(repo_id: str) -> tuple[str, str]:
    """Split ``namespace/name``; both parts are validated."""
    parts = repo_id.split("/")
    if len(parts) != 2:
        raise InvalidRepoNameError(f"Invalid repo id {repo_id!r}: expected 'namespace/name'")
    validate_repo_name(parts[0])
    validate_repo_name(parts[1])
    return parts[0], parts[1]


def refused_character(text: str) -> str | None:
    """The first character a path or ref name must not hold, or None: control characters (C0, DEL, C1), lone
    surrogates (no UTF-8 for git), and the bidi and format controls that make a name display as another one
    (U+202A-U+202E, U+2066-U+2069, U+206A-U+206F, U+FEFF). Joiners and directional marks stay allowed: scripts
    need them, and git only minds them around ``.git`` (see ``git_files.reserved_segment``)."""
    for char in text:
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or char in INVISIBLE_CONTROLS:
            return char
    return None


def validate_path_in_repo(path: str) -> str:
    """A file path inside a repo: relative, no traversal, no control or bidi characters, and nothing git (or
    ``git fsck``) refuses: no ``.git`` in any spelling a checkout would read as ``.git``, no alias of
    ``.gitmodules`` or ``.gitattributes``."""
    if not path or len(path) > MAX_PATH_LENGTH:
        raise InvalidPathError(f"Invalid path {path!r}: empty or longer than {MAX_PATH_LENGTH} characters")
    char = refused_character(path)
    if char is not None:
        raise InvalidPathError(
            f"Invalid path {path!r}: U+{ord(char):04X} is not allowed (no control or bidi characters)"
        )
    if path.startswith("/"):
        raise InvalidPathError(f"Invalid path {path!r}: paths in a repo are relative")
    parts = path.split("/")
    if any(part in FORBIDDEN_PATH_PARTS for part in parts):
        raise InvalidPathError(f"Invalid path {path!r}: empty, '.' or '..' segments are not allowed")
    # a backslash is an ordinary character in a git path (huggingface.co takes it); a Windows checkout reads it
    # as a separator, so what lies between backslashes must not be what git refuses there either
    pieces = [piece for part in parts for piece in part.split("\\")]
    if ".." in pieces:
        raise InvalidPathError(f"Invalid path {path!r}: '..' between backslashes is not allowed")
    for number, piece in enumerate(pieces, start=1):
        reason = reserved_segment(piece, last=number == len(pieces))
        if reason:
            raise InvalidPathError(f"Invalid path {path!r}: {reason}")
    return path


def ref_name_problem(name: str) -> str | None:
    """Why a new branch or tag may not be called ``name`` (beyond git's own ref-name rules), or None: names
    a git command line or revision lookup would read as something else (an option, ``HEAD`` and the other
    pseudo-refs, a commit sha, which would shadow that commit for every ``revision=<sha>``), and characters that
    make a name display as another."""
    if name.startswith("-"):
        return "it would be read as a command-line option"
    if PSEUDO_REF.fullmatch(name.rsplit("/", 1)[-1]):
        return f"{name.rsplit('/', 1)[-1]} is a name git gives to a special ref"
    if FULL_SHA.fullmatch(name):
        return "it looks like a commit sha, which it would shadow in revision lookups"
    char = refused_character(name)
    if char is not None:
        return f"U+{ord(char):04X} is not allowed in names"
    return None
