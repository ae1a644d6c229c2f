"""CommitService: ``preupload`` decisions and the NDJSON ``commit`` endpoint's semantics."""

from __future__ import annotations

import base64
import binascii
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hubstead import bounded_json
from hubstead.accounts.permissions import Actor
from hubstead.errors import (
    ConcurrentUpdateError,
    InvalidCommitError,
    InvalidInputError,
    InvalidPathError,
    PayloadTooLargeError,
    RevisionNotFoundError,
    StaleParentCommitError,
)
from hubstead.gitstore import Change, GitRepo
from hubstead.gitstore.store import MAX_TITLE
from hubstead.repos.git_files import MAX_GITATTRIBUTES_LINE, check_git_file
from hubstead.repos.lfs import LfsService
from hubstead.repos.lfs_pointer import MAX_POINTER_SIZE, MIN_POINTER_SIZE, SHA256, LfsPointer, parse_pointer
from hubstead.repos.models import Repo
from hubstead.repos.naming import validate_path_in_repo
from hubstead.repos.patterns import check_client_gitignore, ignore_matcher, lfs_attribute_line, lfs_matcher
from hubstead.repos.services import DEFAULT_BRANCH, RepoService, author_email

MAX_PREUPLOAD_FILES = 1000
# each lost race means another commit landed, so n racers need up to n rounds; waiting a random while, longer
# after each loss (full jitter), spreads them out instead of having them all replay at once again
CAS_RETRIES = 100
CAS_BACKOFF_BASE = 0.002  # seconds
CAS_BACKOFF_CAP = 0.1
PARENT_COMMIT = "^[0-9a-fA-F]{5,40}$"
# A summary is a line, but huggingface_hub's own (``Upload {path} with huggingface_hub``, ``Delete files {patterns}
# with huggingface_hub``) hold a path of up to 1,024 characters, and people pass several lines as commit_message;
# the description is free text, as long as a discussion comment may be. Both fit whole in a commit listing.
MAX_SUMMARY = MAX_TITLE
MAX_DESCRIPTION = 65_536
MAX_HEADER_LINE = 1024 * 1024  # bytes of the NDJSON header line: both fields fit, however their JSON escapes them
LINE_SLACK = 64 * 1024  # the rest of a file line besides its base64 content: key, path, encoding


@dataclass
class CommitRequest:
    summary: str
    description: str = ""
    parent_commit: str | None = None
    changes: list[Change] = field(default_factory=list)
    lfs_paths: list[str] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class CommitResult:
    sha: str
    branch: str


class CommitService:
    """Turns commit operations into a git commit and moves the branch with compare-and-swap."""

    def __init__(self, repos: RepoService, lfs: LfsService, lfs_size_threshold: int) -> None:
        self.repos = repos
        self.lfs = lfs
        self.lfs_size_threshold = lfs_size_threshold

    @property
    def max_line_bytes(self) -> int:
        """The longest NDJSON line a commit may have: a file that ``preupload`` keeps out of LFS, in base64. Larger
        files go through LFS, as huggingface.co wants (it refuses regular files over 10 MiB)."""
        return self.lfs_size_threshold * 4 // 3 + LINE_SLACK

    # --- preupload ----------------------------------------------------------------------------

    def preupload(self, repo: Repo, revision: str, body: Any) -> list[dict[str, Any]]:
        files = body.get("files") if isinstance(body, dict) else None
        if not isinstance(files, list) or len(files) > MAX_PREUPLOAD_FILES:
            raise InvalidInputError(f"'files' must be a list of at most {MAX_PREUPLOAD_FILES} entries")
        git = self.repos.open_git(repo)
        sha = self._tip_or_default(git, revision)
        is_lfs = lfs_matcher(self._read_text(git, sha, ".gitattributes"))
        gitignore = body.get("gitIgnore")
        if isinstance(gitignore, str):
            check_client_gitignore(gitignore)
        is_ignored = ignore_matcher(
            gitignore if isinstance(gitignore, str) else self._read_text(git, sha, ".gitignore")
        )
        out = []
        for item in files:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                raise InvalidInputError("Each file needs a 'path'")
            path = validate_path_in_repo(item["path"])
            size = item.get("size", 0)
            sample = _decode_sample(item.get("sample", ""))
            lfs = is_lfs(path) or (isinstance(size, int) and size > self.lfs_size_threshold) or _looks_binary(sample)
            out.append(
                {
                    "path": path,
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": is_ignored(path),
                    "oid": self._current_oid(git, sha, path),
                }
            )
        return out

    def _tip_or_default(self, git: GitRepo, revision: str) -> str:
        try:
            return git.resolve(revision)
        except RevisionNotFoundError:
            return git.resolve(DEFAULT_BRANCH)

    @staticmethod
    def _read_text(git: GitRepo, sha: str, path: str) -> str:
        entry = git.get_entry(sha, path)
        if entry is None or entry.type != "file":
            return ""
        return git.read_blob(entry.oid).decode("utf-8", errors="replace")

    @staticmethod
    def _current_oid(git: GitRepo, sha: str, path: str) -> str | None:
        entry = git.get_entry(sha, path)
        if entry is None or entry.type != "file":
            return None
        if entry.size <= 1024:
            pointer = parse_pointer(git.read_blob(entry.oid))
            if pointer:
                return pointer.oid
        return entry.oid

    # --- commit -------------------------------------------------------------------------------

    def parse(self, repo: Repo, git: GitRepo, lines: Iterable[bytes]) -> CommitRequest:
        """Parse NDJSON commit lines; file contents go straight into the git object store."""
        request: CommitRequest | None = None
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                line = bounded_json.loads(raw)
            except bounded_json.InvalidJsonError as exc:
                raise InvalidCommitError(f"Malformed NDJSON on line {number}: {exc}") from None
            if not isinstance(line, dict) or not isinstance(line.get("value"), dict):
                raise InvalidCommitError(
                    f"Malformed NDJSON on line {number}: expected {{'key': ..., 'value': {{...}}}}"
                )
            key, value = line.get("key"), line["value"]
            if key == "header":
                request = self._header(value, number, request)
                continue
            if request is None:
                raise InvalidCommitError("The first line of a commit must be its header")
            self._operation(repo, git, request, key, value, number)
        if request is None:
            raise InvalidCommitError("Empty commit: a header line is required")
        return request

    @staticmethod
    def _header(value: dict[str, Any], number: int, previous: CommitRequest | None) -> CommitRequest:
        if previous is not None:
            raise InvalidCommitError(f"Line {number}: a commit has only one header")
        summary = value.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            raise InvalidCommitError("The commit header needs a non-empty 'summary'")
        parent = value.get("parentCommit")
        if parent is not None and (not isinstance(parent, str) or not _is_hex(parent, 5, 40)):
            raise InvalidCommitError("'parentCommit' must be a commit sha (5 to 40 hex characters)")
        description = value.get("description") or ""
        if not isinstance(description, str):
            raise InvalidCommitError("'description' must be a string")
        summary = summary.strip()
        _check_message_field("summary", summary, MAX_SUMMARY, " (the rest belongs in the description)")
        _check_message_field("description", description, MAX_DESCRIPTION)
        return CommitRequest(summary=summary, description=description, parent_commit=parent and parent.lower())

    def _operation(
        self, repo: Repo, git: GitRepo, request: CommitRequest, key: Any, value: dict[str, Any], number: int
    ) -> None:
        path = value.get("path")
        if not isinstance(path, str):
            raise InvalidCommitError(f"Line {number}: operation needs a 'path'")
        if key == "file":
            path = validate_path_in_repo(path)
            content = _file_content(value, number)
            check_git_file(path, content)
            self._check_pointer_text(repo, content, number)
            request.changes.append(Change(path, git.write_blob(content)))
        elif key == "lfsFile":
            path = validate_path_in_repo(path)
            request.changes.append(Change(path, git.write_blob(self._pointer(repo, value, number).render())))
            request.lfs_paths.append(path)
        elif key == "deletedFile":
            request.changes.append(Change(validate_path_in_repo(path.rstrip("/")), None))
        elif key == "deletedFolder":
            request.changes.append(Change(validate_path_in_repo(path.rstrip("/")), None, folder=True))
        else:
            raise InvalidCommitError(f"Line {number}: unknown operation {key!r}")
        request.touched.add(request.changes[-1].path)

    def _pointer(self, repo: Repo, value: dict[str, Any], number: int) -> LfsPointer:
        oid, size, algo = value.get("oid"), value.get("size"), value.get("algo", "sha256")
        if algo != "sha256" or not isinstance(oid, str) or not SHA256.match(oid):
            raise InvalidCommitError(f"Line {number}: 'oid' must be a sha256 (64 lowercase hex characters)")
        stored = self.lfs.require_object(repo, oid)
        if size is not None and size != stored:
            raise InvalidCommitError(f"Line {number}: LFS object {oid} has size {stored}, not {size}")
        return LfsPointer(oid=oid, size=stored)

    def _check_pointer_text(self, repo: Repo, content: bytes, number: int) -> None:
        """A regular file whose text is an LFS pointer is an LFS file to every reader: it may name only an object
        the repo may reference, with its size (else knowing a sha256 would be enough to read its bytes)."""
        pointer = parse_pointer(content) if MIN_POINTER_SIZE <= len(content) <= MAX_POINTER_SIZE else None
        if pointer is None:
            return
        stored = self.lfs.require_object(repo, pointer.oid)
        if stored != pointer.size:
            raise InvalidCommitError(
                f"Line {number}: the LFS pointer names object {pointer.oid} with size {pointer.size}, "
                f"but this repository's object has {stored} bytes"
            )

    def commit(self, repo: Repo, actor: Actor, branch: str, lines: Iterable[bytes]) -> CommitResult:
        """Apply the operations to the tip of ``branch`` as one commit (412 if ``parentCommit`` is stale)."""
        assert actor.account is not None
        git = self.repos.open_git(repo)
        ref = _branch_ref(git, branch)
        request = self.parse(repo, git, lines)
        for attempt in range(CAS_RETRIES):
            tip = git.ref_target(ref)
            if tip is None:
                raise RevisionNotFoundError(f"Invalid rev id: {branch}")
            if request.parent_commit and not tip.startswith(request.parent_commit):
                raise StaleParentCommitError()
            changes = request.changes + self._gitattributes_for_lfs(git, tip, request)
            tree = git.build_tree(tip, changes)
            message = request.summary + (f"\n\n{request.description}" if request.description else "")
            sha = git.write_commit(tree, [tip], message, actor.account.name, author_email(actor.account))
            try:
                self.repos.move_ref(repo, ref, sha, tip)
            except ConcurrentUpdateError:
                if request.parent_commit:
                    raise StaleParentCommitError() from None
                # someone else committed first: wait a little, then replay our operations on their tip
                time.sleep(random.uniform(0, min(CAS_BACKOFF_CAP, CAS_BACKOFF_BASE * 2**attempt)))
                continue
            if ref == f"refs/heads/{DEFAULT_BRANCH}":
                self.repos.record_commit(repo, sha)
            return CommitResult(sha=sha, branch=branch)
        raise ConcurrentUpdateError("The branch is being updated by others; please retry")

    def _gitattributes_for_lfs(self, git: GitRepo, tip: str, request: CommitRequest) -> list[Change]:
        """Files stored in LFS because of their size or content get a line in .gitattributes, as on the Hub,
        so that git-lfs clones smudge them."""
        if not request.lfs_paths or ".gitattributes" in request.touched:
            return []
        text = self._read_text(git, tip, ".gitattributes")
        is_lfs = lfs_matcher(text)
        missing = [p for p in request.lfs_paths if not is_lfs(p)]
        if not missing:
            return []
        if text and not text.endswith("\n"):
            text += "\n"
        lines = [lfs_attribute_line(p) for p in missing]
        for path, line in zip(missing, lines, strict=True):
            if len(line.encode()) >= MAX_GITATTRIBUTES_LINE:
                raise InvalidPathError(
                    f"Invalid path {path!r}: too long to be named in .gitattributes (git ignores lines of "
                    f"{MAX_GITATTRIBUTES_LINE} bytes or more); add a pattern matching it to .gitattributes"
                )
        text += "".join(line + "\n" for line in lines)
        return [Change(".gitattributes", git.write_blob(text.encode()))]


def _check_message_field(name: str, text: str, limit: int, hint: str = "") -> None:
    if len(text) > limit:
        raise InvalidCommitError(f"The commit {name} has {len(text):,} characters; at most {limit:,} are allowed{hint}")
    if "\x00" in text:
        raise InvalidCommitError(f"The commit {name} contains a NUL character, which git would cut the message at")


def _branch_ref(git: GitRepo, branch: str) -> str:
    if branch.startswith(("refs/pr/", "refs/heads/")):
        return branch
    if git.ref_target(f"refs/heads/{branch}") is None:
        if git.ref_target(f"refs/tags/{branch}") is not None or _is_hex(branch, 40, 40):
            raise InvalidInputError(f"Commits can only be made on a branch, not on {branch}")
        raise RevisionNotFoundError(f"Invalid rev id: {branch}")
    return f"refs/heads/{branch}"


def _file_content(value: dict[str, Any], number: int) -> bytes:
    content, encoding = value.get("content"), value.get("encoding", "base64")
    if not isinstance(content, str):
        raise InvalidCommitError(f"Line {number}: 'content' must be a string")
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidCommitError(f"Line {number}: 'content' is not valid base64") from None
    if encoding in ("utf-8", "utf8", None):
        return content.encode()
    raise InvalidCommitError(f"Line {number}: unknown encoding {encoding!r}")


def _decode_sample(sample: Any) -> bytes:
    if not isinstance(sample, str):
        return b""
    try:
        return base64.b64decode(sample)
    except (binascii.Error, ValueError):
        raise InvalidInputError("'sample' must be base64") from None


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the 512-byte sample is still text
        return exc.start < len(sample) - 4
    return False


def _is_hex(value: str, lo: int, hi: int) -> bool:
    return lo <= len(value) <= hi and all(c in "0123456789abcdefABCDEF" for c in value)


def iter_lines(chunks: Iterable[bytes], max_line: int, max_header_line: int = MAX_HEADER_LINE) -> Iterator[bytes]:
    """Split a stream of byte chunks into lines without holding the whole body, nor any line longer than
    ``max_line`` (413): the header, the first line that is not blank, is held to ``max_header_line``."""
    parts: list[bytes] = []
    held = 0
    in_header = True
    for chunk in chunks:
        start = 0
        while (newline := chunk.find(b"\n", start)) != -1:
            parts.append(chunk[start:newline])
            _check_line_length(held + newline - start, max_header_line if in_header else max_line, in_header)
            line = b"".join(parts)
            in_header = in_header and not line.strip()
            yield line
            parts, held = [], 0
            start = newline + 1
        if start < len(chunk):
            parts.append(chunk[start:])
            held += len(chunk) - start
            _check_line_length(held, max_header_line if in_header else max_line, in_header)
    if parts:
        yield b"".join(parts)


def _check_line_length(length: int, limit: int, header: bool) -> None:
    if length <= limit:
        return
    if header:
        raise PayloadTooLargeError(
            f"The commit header is larger than {limit:,} bytes: a summary has at most {MAX_SUMMARY:,} "
            f"characters and a description at most {MAX_DESCRIPTION:,}"
        )
    raise PayloadTooLargeError(
        f"A commit line is larger than {limit:,} bytes: files this large are uploaded through LFS (preupload says so)"
    )
