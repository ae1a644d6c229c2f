"""Names and files git treats specially: every verdict here is checked against ``git fsck`` itself, on a tree
written byte for byte (libgit2 would refuse to build some of them)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pygit2
import pytest

from hubstead.errors import InvalidCommitError, InvalidPathError
from hubstead.repos.git_files import check_git_file
from hubstead.repos.naming import validate_path_in_repo


def _fsck_errors(tmp_path: Path, path: str, content: bytes = b"x\n") -> list[str]:
    """What ``git fsck --strict`` reports for a commit holding ``content`` at ``path``: its warnings too, which
    a push to a server with ``receive.fsckObjects`` (or a clone with ``transfer.fsckObjects``) treats as errors."""
    tmp_path = Path(tempfile.mkdtemp(dir=tmp_path))
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    oid = repo.odb.write(pygit2.enums.ObjectType.BLOB, content)
    mode = b"100644"
    for name in reversed(path.split("/")):
        raw = mode + b" " + name.encode("utf-8", "surrogatepass") + b"\0" + oid.raw
        oid, mode = repo.odb.write(pygit2.enums.ObjectType.TREE, raw), b"40000"
    signature = pygit2.Signature("a", "a@example.org")
    repo.create_commit("refs/heads/main", signature, signature, "m", oid, [])
    result = subprocess.run(["git", "-C", str(tmp_path / "r.git"), "fsck", "--strict"], capture_output=True, text=True)
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith(("error", "warning"))]


def _refused(path: str) -> bool:
    try:
        validate_path_in_repo(path)
    except InvalidPathError:
        return True
    return False


# paths git fsck flags: each must be refused
FSCK_FLAGGED = [
    ".git/config", ".GIT/config", ".Git", "a/.gIt/x", "git~1/x", "GIT~1", ".git./x", ".git /x", ".git. . /x",
    ".git:stream/x", ".g\u200dit/x", ".git\u200c/x", "\u200e.git/x", ".gi\ufefft/x", ".gitmodules/x",
    "a/.gitattributes/x",
]  # fmt: skip
# paths git fsck accepts, and so do we
ACCEPTED = [
    "a.txt", "dir/sub/file.bin", ".gitignore", ".gitattributes", "sub/.gitattributes", ".gitmodules", "git~2/x",
    ".gitx/y", "x.git/y", "a./b", "a /b", "aux.py", "a:b", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.txt",
    "emoji-\U0001f469\u200d\U0001f4bb.png", "\u00e9t\u00e9/r\u00e9sum\u00e9.md",
]  # fmt: skip
# paths git fsck accepts but a checkout would misread or a reader would be fooled by: refused on purpose
REFUSED_ON_PURPOSE = [
    ".GITMODULES", ".gitmodules.", ".gitmodules ", "gitmod~1", "GI7EBA~1", ".gitattributes.", "GITATT~1",
    "a\x7fb", "a\x85b", "evil\u202egpj.exe", "a\u2066b", "a\u206ab", "a\ufeffb",
]  # fmt: skip


@pytest.mark.parametrize("path", FSCK_FLAGGED)
def test_paths_git_fsck_flags_are_refused(tmp_path: Path, path: str) -> None:
    assert _fsck_errors(tmp_path, path), "git fsck accepts it: the case is wrong"
    assert _refused(path)


@pytest.mark.parametrize("path", ACCEPTED)
def test_paths_git_fsck_accepts_are_accepted(tmp_path: Path, path: str) -> None:
    assert _fsck_errors(tmp_path, path) == []
    assert not _refused(path)


@pytest.mark.parametrize("path", REFUSED_ON_PURPOSE)
def test_lookalikes_and_invisible_controls_are_refused(path: str) -> None:
    assert _refused(path)


def test_a_lone_surrogate_is_refused_before_it_reaches_git() -> None:
    assert _refused("x\ud800y")


# --- .gitmodules and .gitattributes content ------------------------------------------------------------------

GOOD_MODULE = b'[submodule "lib"]\n\tpath = lib\n\turl = https://example.org/lib.git\n'
GITMODULES_FLAGGED = [
    b'[submodule "x"]\n\turl = -upload-pack=touch\n',
    b'[submodule "x"]\n\turl = "-quoted"\n',
    b'[submodule "x"]\n\tpath = -x\n\turl = https://e/x\n',
    b'[submodule "../../x"]\n\tpath = x\n\turl = https://e/x\n',
    b'[submodule "a\\\\..\\\\b"]\n\turl = https://e/x\n',
    b'[submodule "x"]\n\tupdate = !rm -rf /\n',
    b'[submodule "x"]\n\turl = ./x%0a\n',
    b'[submodule "x"]\n\turl = https:///x\n',
    b'[Submodule "x"]\n\tURL = -x\n',
    b'[submodule "x"] url = -x\n',
    b'[submodule "x"]\n\turl = \\\n-x\n',
]
GITMODULES_ACCEPTED = [
    GOOD_MODULE,
    b'[submodule "x"]\n\turl = ../sibling.git\n',
    b'[submodule "x"]\n\turl = git@example.org:team/x.git\n\tbranch = main\n',
    b"# a comment\n[core]\n\tbare = false\n",
    b'[submodule "x"]\n\tpath = x ; comment\n\turl = ssh://host/x\n',
]


@pytest.mark.parametrize("content", GITMODULES_FLAGGED)
def test_gitmodules_git_fsck_flags_are_refused(tmp_path: Path, content: bytes) -> None:
    assert _fsck_errors(tmp_path, ".gitmodules", content), "git fsck accepts it: the case is wrong"
    with pytest.raises(InvalidCommitError, match="disallowed"):
        check_git_file(".gitmodules", content)


@pytest.mark.parametrize("content", GITMODULES_ACCEPTED)
def test_gitmodules_git_fsck_accepts_are_accepted(tmp_path: Path, content: bytes) -> None:
    assert _fsck_errors(tmp_path, ".gitmodules", content) == []
    check_git_file(".gitmodules", content)
    check_git_file("nested/.gitmodules", content)


def test_unreadable_gitmodules_is_refused() -> None:
    with pytest.raises(InvalidCommitError, match="could not read"):
        check_git_file(".gitmodules", b'[submodule "x"\n\turl = "unterminated\n')


@pytest.mark.parametrize(
    ("content", "flagged"),
    [
        (b"*.bin filter=lfs\n" + b"a" * 2047 + b"\n", False),
        (b"*.bin filter=lfs\n" + b"a" * 2048 + b"\n", True),
        (b"a" * 2047 + b"\r\n", True),
        (b"ok\n\0" + b"a" * 3000, False),
    ],
    ids=["2047-bytes", "2048-bytes", "crlf-counts", "after-a-nul"],
)
def test_gitattributes_lines_git_fsck_refuses_are_refused(tmp_path: Path, content: bytes, flagged: bool) -> None:
    assert bool(_fsck_errors(tmp_path, "sub/.gitattributes", content)) is flagged
    if flagged:
        with pytest.raises(InvalidCommitError, match="2048 bytes"):
            check_git_file("sub/.gitattributes", content)
    else:
        check_git_file("sub/.gitattributes", content)
