"""Git storage with pygit2. Objects are written in-process; refs move with ``git update-ref``
so that concurrent writers (API commits, ``git push``) serialise on git's own ref locks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pygit2
from pygit2.enums import FileMode, ObjectType

from hubstead.errors import (
    ConcurrentUpdateError,
    EntryNotFoundError,
    InvalidInputError,
    InvalidPathError,
    RefAlreadyExistsError,
    RevisionNotFoundError,
)

ZERO_SHA = "0" * 40
READERS_PER_THREAD = 8  # repositories each thread keeps open for reading (open_for_reading)
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
SHORT_SHA = re.compile(r"^[0-9a-f]{5,39}$")
# what a commit listing shows of one commit, in characters (see _meta): a commit's summary and description, as
# the API accepts them, fit whole (repos/commits.py); a git push may bring longer ones (up to MAX_COMMIT_OBJECT)
MAX_TITLE = 4096
MAX_MESSAGE = 72 * 1024
MAX_AUTHOR = 256
MAX_COMMIT_OBJECT = 1024 * 1024  # bytes of a pushed commit or tag object: its headers and message


@dataclass(frozen=True)
class TreeEntry:
    path: str
    type: str  # "file" | "directory"
    oid: str
    size: int = 0
    mode: int = FileMode.BLOB

    @property
    def walk_key(self) -> str:
        """Where the entry stands in ``iter_tree``'s order (for ``start_at``): each part of its path behind a
        "0" for a folder or a "1" for a file (folders come first)."""
        *folders, last = self.path.split("/")
        kind = "0" if self.type == "directory" else "1"
        return "/".join([*(f"0{name}" for name in folders), f"{kind}{last}"])


@dataclass(frozen=True)
class CommitMeta:
    sha: str
    title: str
    message: str
    author_name: str
    author_email: str
    date: datetime
    parents: tuple[str, ...]


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "+" added, "-" removed, " " context
    old_number: int | None
    new_number: int | None
    text: str


@dataclass(frozen=True)
class DiffHunk:
    header: str
    lines: tuple[DiffLine, ...]


@dataclass(frozen=True)
class FileDiff:
    """One file changed by a commit. ``hunks`` is empty for binary files and for diffs cut for size."""

    path: str
    old_path: str | None  # set when renamed
    status: str  # "added" | "deleted" | "modified" | "renamed"
    additions: int
    deletions: int
    binary: bool
    hunks: tuple[DiffHunk, ...] = ()
    truncated: bool = False


DIFF_STATUS = {"A": "added", "D": "deleted", "M": "modified", "R": "renamed", "T": "modified"}


@dataclass
class RefSet:
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    converts: dict[str, str] = field(default_factory=dict)
    pulls: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """One change to a tree: put a blob at ``path``, or delete a file or a whole folder."""

    path: str
    blob_oid: str | None = None  # None means delete
    folder: bool = False


class GitStore:
    """Holds one bare repository per Hubstead repo under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._readers = threading.local()

    def path_for(self, key: str) -> Path:
        return self.root / f"{key}.git"

    def exists(self, key: str) -> bool:
        return (self.path_for(key) / "HEAD").exists()

    def init(self, key: str, default_branch: str = "main") -> GitRepo:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        pygit2.init_repository(str(path), bare=True, initial_head=default_branch)
        return GitRepo(path)

    def open(self, key: str) -> GitRepo:
        return GitRepo(self.path_for(key))

    def open_for_reading(self, key: str) -> GitRepo:
        """The repository at ``key`` to read from, kept open by the calling thread for its next requests (opening
        one is most of a download's git work). Refs are read from disk on each lookup and objects are named by
        their content, so a kept repository reads what a new one would, except after the directory was deleted
        and created again: its old packs, still open, would answer for objects the new repo lacks. So each is
        kept with the directory's identity (inode, ctime), and opened anew when that changed. Never write
        through it (``open`` for that)."""
        path = self.path_for(key)
        try:
            stat = os.stat(path)
        except OSError:
            return GitRepo(path)  # fails as ``open`` does
        identity = (stat.st_dev, stat.st_ino, stat.st_ctime_ns)
        kept: OrderedDict[Path, tuple[tuple[int, int, int], GitRepo]] | None = getattr(self._readers, "repos", None)
        if kept is None:
            kept = self._readers.repos = OrderedDict()
        found = kept.get(path)
        if found is not None and found[0] == identity:
            kept.move_to_end(path)
            return found[1]
        repo = GitRepo(path)
        kept[path] = (identity, repo)
        kept.move_to_end(path)
        if len(kept) > READERS_PER_THREAD:
            kept.popitem(last=False)
        return repo

    def delete(self, key: str) -> None:
        shutil.rmtree(self.path_for(key), ignore_errors=True)

    def move(self, src_key: str, dst_key: str) -> None:
        dst = self.path_for(dst_key)
        if dst.exists():
            raise FileExistsError(str(dst))
        dst.parent.mkdir(parents=True, exist_ok=True)
        self.path_for(src_key).rename(dst)


class GitRepo:
    """One bare repository. Not shared between threads: open one per request (or, to read, one per thread:
    ``GitStore.open_for_reading``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._repo = pygit2.Repository(str(path))

    # --- revisions and refs -------------------------------------------------------------------

    def resolve(self, revision: str) -> str:
        """Commit sha of a branch, tag, full ref, full or short sha; raises RevisionNotFoundError."""
        commit = self._find_commit(revision)
        if commit is None:
            raise RevisionNotFoundError(f"Invalid rev id: {revision}")
        return str(commit.id)

    def _find_commit(self, revision: str) -> pygit2.Commit | None:
        candidates = [f"refs/heads/{revision}", f"refs/tags/{revision}"]
        if revision.startswith("refs/"):
            candidates.insert(0, revision)
        for name in candidates:
            ref = self._lookup_ref(name)
            if ref is not None:
                return self._peel_commit(ref.target)
        if FULL_SHA.match(revision):
            return self._peel_commit(pygit2.Oid(hex=revision))
        if SHORT_SHA.match(revision):
            try:
                return self._repo.revparse_single(revision).peel(pygit2.Commit)
            except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
                return None
        return None

    def _lookup_ref(self, name: str) -> pygit2.Reference | None:
        if "\x00" in name:  # libgit2 would stop reading at the NUL: "main\x00junk" would find main
            return None
        try:
            return self._repo.references.get(name)
        except (pygit2.InvalidSpecError, ValueError):
            return None

    def _peel_commit(self, oid: pygit2.Oid | str) -> pygit2.Commit | None:
        try:
            obj = self._repo.get(oid)
            return obj.peel(pygit2.Commit) if obj is not None else None
        except (ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            return None

    def ref_target(self, ref_name: str) -> str | None:
        ref = self._lookup_ref(ref_name)
        if ref is None:
            return None
        commit = self._peel_commit(ref.target)
        return str(commit.id) if commit else None

    def list_refs(self) -> RefSet:
        refs = RefSet()
        for name in self._repo.references:
            sha = self.ref_target(name)
            if sha is None:
                continue
            for prefix, bucket in (
                ("refs/heads/", refs.branches),
                ("refs/tags/", refs.tags),
                ("refs/convert/", refs.converts),
                ("refs/pr/", refs.pulls),
            ):
                if name.startswith(prefix):
                    bucket[name[len(prefix) :]] = sha
        return refs

    def update_ref(self, ref_name: str, new_sha: str, old_sha: str | None) -> None:
        """Move ``ref_name`` to ``new_sha`` only if it still points at ``old_sha`` (None: must not exist)."""
        if not pygit2.reference_is_valid_name(ref_name):
            raise InvalidPathError(f"Invalid reference name: {ref_name}")
        result = self._git("update-ref", ref_name, new_sha, old_sha or ZERO_SHA)
        if result.returncode != 0:
            if old_sha is None:
                raise RefAlreadyExistsError(f"Reference {ref_name} already exists")
            raise ConcurrentUpdateError(f"{ref_name} was updated concurrently")

    def delete_ref(self, ref_name: str, old_sha: str | None = None) -> None:
        args = ["update-ref", "-d", ref_name] + ([old_sha] if old_sha else [])
        if self._git(*args).returncode != 0:
            raise ConcurrentUpdateError(f"{ref_name} was updated concurrently")

    def create_annotated_tag(self, name: str, target: str, message: str, tagger_name: str, tagger_email: str) -> str:
        tagger = pygit2.Signature(tagger_name, tagger_email)
        oid = self._repo.create_tag(name, pygit2.Oid(hex=target), ObjectType.COMMIT, tagger, message)
        return str(oid)

    @staticmethod
    def valid_ref_name(name: str) -> bool:
        # libgit2 reads a C string: "v1\x00junk" would be checked as "v1" and then fail to be written
        return "\x00" not in name and bool(pygit2.reference_is_valid_name(name))

    def _git(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", f"--git-dir={self.path}", *args], capture_output=True, check=False, timeout=60)

    # --- trees and blobs ----------------------------------------------------------------------

    def _tree_at(self, sha: str, path: str = "") -> pygit2.Tree:
        tree = self._repo[sha].peel(pygit2.Tree)
        if not path:
            return tree
        try:
            obj = tree[path]
        except KeyError:
            raise EntryNotFoundError(f"{path} does not exist at revision {sha}") from None
        if obj.type != ObjectType.TREE:
            raise EntryNotFoundError(f"{path} is a file, not a folder")
        return self._repo[obj.id].peel(pygit2.Tree)

    def get_entry(self, sha: str, path: str) -> TreeEntry | None:
        if "\x00" in path:  # libgit2 would stop reading at the NUL and find another entry
            return None
        tree = self._repo[sha].peel(pygit2.Tree)
        try:
            obj = tree[path]
        except KeyError:
            return None
        return self._entry(path, obj)

    def _entry(self, path: str, obj: pygit2.Object) -> TreeEntry:
        if obj.type == ObjectType.TREE:
            return TreeEntry(path=path, type="directory", oid=str(obj.id), mode=obj.filemode)
        size = self._repo.odb.read_header(obj.id)[1]
        return TreeEntry(path=path, type="file", oid=str(obj.id), size=size, mode=obj.filemode)

    def iter_tree(
        self, sha: str, path: str = "", recursive: bool = False, start_at: str | None = None
    ) -> Iterator[TreeEntry]:
        """Entries under ``path``, folders before files and each sorted by name, as huggingface.co lists them;
        with ``recursive``, each folder followed by its contents. ``start_at`` (a page cursor) is the
        ``walk_key`` of the entry to resume at, or of where it was: the entries before it are passed over by
        name, without reading them or the folders they hold."""
        tree = self._tree_at(sha, path)
        yield from self._walk(tree, path, recursive, _resume_point(path, start_at) if start_at else None)

    def _walk(
        self, tree: pygit2.Tree, prefix: str, recursive: bool, start_at: list[tuple[int, str]] | None = None
    ) -> Iterator[TreeEntry]:
        for obj in sorted(tree, key=_listing_order):
            name = obj.name or ""
            full = f"{prefix}/{name}" if prefix else name
            if start_at:
                here = _listing_order(obj)
                if here < start_at[0]:
                    continue
                if here == start_at[0] and len(start_at) > 1:
                    # resume inside this folder: an earlier page listed the folder itself
                    if recursive and obj.type == ObjectType.TREE:
                        yield from self._walk(self._repo[obj.id].peel(pygit2.Tree), full, True, start_at[1:])
                    start_at = None
                    continue
                start_at = None
            entry = self._entry(full, obj)
            yield entry
            if recursive and entry.type == "directory":
                yield from self._walk(self._repo[obj.id].peel(pygit2.Tree), full, True)

    def read_blob(self, oid: str) -> bytes:
        return self._repo[oid].peel(pygit2.Blob).data

    def write_blob(self, data: bytes) -> str:
        return str(self._repo.create_blob(data))

    def has_object(self, oid: str) -> bool:
        return pygit2.Oid(hex=oid) in self._repo.odb

    # --- commits ------------------------------------------------------------------------------

    def build_tree(self, base_sha: str | None, changes: Iterable[Change]) -> str:
        """Apply ``changes`` to the tree of ``base_sha`` and return the new tree's oid."""
        index = pygit2.Index()
        if base_sha:
            index.read_tree(self._repo[base_sha].peel(pygit2.Tree))
        paths = _IndexPaths(e.path for e in index)  # one pass: each change then checks clashes in O(depth)
        for change in changes:
            if change.blob_oid is None:
                self._remove(index, change, paths)
            else:
                self._add(index, change.path, change.blob_oid, paths)
        return str(index.write_tree(self._repo))

    @staticmethod
    def _remove(index: pygit2.Index, change: Change, paths: _IndexPaths) -> None:
        path = change.path.rstrip("/")
        if not change.folder and path in paths.files:
            index.remove(path)
            paths.discard(path)
            return
        prefix = f"{path}/"
        doomed = [p for p in paths.files if p.startswith(prefix)] if path else list(paths.files)
        if not doomed:
            kind = "folder" if change.folder else "file"
            raise EntryNotFoundError(f"A {kind} with this name doesn't exist: {path}")
        for name in doomed:
            index.remove(name)
            paths.discard(name)

    @staticmethod
    def _add(index: pygit2.Index, path: str, blob_oid: str, paths: _IndexPaths) -> None:
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in paths.files:
                raise InvalidPathError(f"Cannot add {path}: {'/'.join(parts[:i])} is a file")
        if path in paths.folders:
            raise InvalidPathError(f"Cannot add {path}: a folder with this name exists")
        index.add(pygit2.IndexEntry(path, pygit2.Oid(hex=blob_oid), FileMode.BLOB))
        paths.add(path)

    def write_commit(
        self,
        tree_oid: str,
        parents: list[str],
        message: str,
        author_name: str,
        author_email: str,
    ) -> str:
        """Write a commit object (no ref is moved)."""
        signature = pygit2.Signature(author_name, author_email)
        oid = self._repo.create_commit(
            None, signature, signature, message, pygit2.Oid(hex=tree_oid), [pygit2.Oid(hex=p) for p in parents]
        )
        return str(oid)

    def tree_of(self, sha: str) -> str:
        return str(self._repo[sha].peel(pygit2.Tree).id)

    def commit_meta(self, sha: str) -> CommitMeta:
        return _meta(self._repo[sha].peel(pygit2.Commit))

    def log(self, sha: str, skip: int = 0, limit: int | None = None) -> list[CommitMeta]:
        walker = self._repo.walk(pygit2.Oid(hex=sha), pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME)
        out: list[CommitMeta] = []
        for i, commit in enumerate(walker):
            if i < skip:
                continue
            if limit is not None and len(out) >= limit:
                break
            out.append(_meta(commit))
        return out

    def diff_commit(self, sha: str, max_lines: int = 20_000) -> list[FileDiff]:
        """What ``sha`` changed against its first parent (everything, for a root commit). Past ``max_lines``
        lines in all, the remaining files keep their counts but lose their hunks."""
        commit = self._repo[sha].peel(pygit2.Commit)
        if commit.parents:
            diff = commit.parents[0].tree.diff_to_tree(commit.tree)
        else:
            diff = commit.tree.diff_to_tree(swap=True)
        diff.find_similar()
        out: list[FileDiff] = []
        budget = max_lines
        for patch in diff:
            if patch is None:
                continue
            delta = patch.delta
            _, additions, deletions = patch.line_stats
            status = DIFF_STATUS.get(delta.status_char(), "modified")
            binary = bool(delta.is_binary)
            keep = not binary and additions + deletions <= budget
            hunks = tuple(_hunk(h) for h in patch.hunks) if keep else ()
            budget -= additions + deletions if keep else 0
            out.append(
                FileDiff(
                    path=delta.new_file.path if status != "deleted" else delta.old_file.path,
                    old_path=delta.old_file.path if status == "renamed" else None,
                    status=status,
                    additions=additions,
                    deletions=deletions,
                    binary=binary,
                    hunks=hunks,
                    truncated=not binary and not keep,
                )
            )
        return out

    def count_commits(self, sha: str) -> int:
        return sum(1 for _ in self._repo.walk(pygit2.Oid(hex=sha)))

    def last_commits(self, sha: str, paths: list[str]) -> dict[str, CommitMeta]:
        """For each path, the newest commit reachable from ``sha`` that changed it."""
        pending = set(paths)
        found: dict[str, CommitMeta] = {}
        for commit in self._repo.walk(
            pygit2.Oid(hex=sha), pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME
        ):
            if not pending:
                break
            parent_tree = commit.parents[0].tree if commit.parents else None
            for path in list(pending):
                if _entry_oid(commit.tree, path) != (_entry_oid(parent_tree, path) if parent_tree else None):
                    found[path] = _meta(commit)
                    pending.discard(path)
        return found

    # --- merging ------------------------------------------------------------------------------

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``descendant`` has ``ancestor`` in its history (or is it)."""
        if ancestor == descendant:
            return True
        return bool(self._repo.descendant_of(pygit2.Oid(hex=descendant), pygit2.Oid(hex=ancestor)))

    def merge_base(self, a: str, b: str) -> str | None:
        oid = self._repo.merge_base(pygit2.Oid(hex=a), pygit2.Oid(hex=b))
        return str(oid) if oid is not None else None

    def merge_trees(self, ours: str, theirs: str) -> tuple[str | None, list[str]]:
        """The tree of merging commit ``theirs`` into ``ours``: (tree oid, []) or, on conflicts, (None, the
        conflicting paths)."""
        index = self._repo.merge_commits(pygit2.Oid(hex=ours), pygit2.Oid(hex=theirs))
        if index.conflicts is not None:
            paths = {entry.path for sides in index.conflicts for entry in sides if entry is not None}
            return None, sorted(paths)
        return str(index.write_tree(self._repo)), []

    def commits_between(self, old: str | None, new: str, limit: int) -> list[CommitMeta]:
        """The commits reachable from ``new`` but not from ``old``, oldest first (at most ``limit``, the newest)."""
        walker = self._repo.walk(pygit2.Oid(hex=new), pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME)
        if old is not None:
            walker.hide(pygit2.Oid(hex=old))
        out: list[CommitMeta] = []
        for commit in walker:
            if len(out) >= limit:
                break
            out.append(_meta(commit))
        return out[::-1]

    def diff_text(self, old: str, new: str, max_bytes: int) -> str:
        """A unified diff (``git diff old new``) of two commits, cut at ``max_bytes``."""
        diff = self._repo.diff(self._repo[old].peel(pygit2.Commit), self._repo[new].peel(pygit2.Commit))
        text = diff.patch or ""
        return text if len(text) <= max_bytes else text[:max_bytes] + "\n[diff truncated]\n"


class _IndexPaths:
    """The file paths of an index being edited, and how many files each folder holds."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.files: set[str] = set()
        self.folders: Counter[str] = Counter()
        for path in paths:
            self.add(path)

    def add(self, path: str) -> None:
        if path not in self.files:
            self.files.add(path)
            self.folders.update(_folders_of(path))

    def discard(self, path: str) -> None:
        if path in self.files:
            self.files.remove(path)
            for folder in _folders_of(path):
                self.folders[folder] -= 1
                if not self.folders[folder]:
                    del self.folders[folder]


def _listing_order(obj: pygit2.Object) -> tuple[int, str]:
    return (0 if obj.type == ObjectType.TREE else 1, obj.name or "")


def _resume_point(prefix: str, walk_key: str) -> list[tuple[int, str]]:
    """A ``walk_key`` as ``_listing_order`` keys, one per level below ``prefix`` (InvalidInputError if it is not
    the key of something under it)."""
    parts = walk_key.split("/")
    if any(len(p) < 2 or p[0] not in "01" for p in parts) or any(p[0] == "1" for p in parts[:-1]):
        raise InvalidInputError("Invalid cursor")
    keys = [(int(p[0]), p[1:]) for p in parts]
    above = [(0, name) for name in prefix.split("/")] if prefix else []
    if keys[: len(above)] != above or len(keys) == len(above):
        raise InvalidInputError("Invalid cursor: it belongs to another folder")
    return keys[len(above) :]


def _folders_of(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _hunk(hunk: pygit2.DiffHunk) -> DiffHunk:
    lines = tuple(
        DiffLine(
            kind=line.origin if line.origin in "+- " else " ",
            old_number=line.old_lineno if line.old_lineno >= 0 else None,
            new_number=line.new_lineno if line.new_lineno >= 0 else None,
            text=line.content.rstrip("\n"),
        )
        for line in hunk.lines
        if line.origin in "+- "
    )
    return DiffHunk(header=hunk.header.strip(), lines=lines)


def _entry_oid(tree: pygit2.Tree, path: str) -> str | None:
    try:
        return str(tree[path].id)
    except KeyError:
        return None


def _meta(commit: pygit2.Commit) -> CommitMeta:
    """A commit as listings and pages show it: title, message and author cut at ``MAX_TITLE`` / ``MAX_MESSAGE`` /
    ``MAX_AUTHOR`` characters (the whole message stays in git), so that no commit, however it was made, makes a
    page or an answer unbounded."""
    offset = timezone(timedelta(minutes=commit.commit_time_offset))
    date = datetime.fromtimestamp(commit.commit_time, offset).astimezone(UTC)
    message = commit.message
    title, _, body = message.partition("\n")
    return CommitMeta(
        sha=str(commit.id),
        title=_cut(title.strip(), MAX_TITLE),
        message=_cut(body.strip(), MAX_MESSAGE),
        author_name=_cut(commit.author.name, MAX_AUTHOR),
        author_email=_cut(commit.author.email, MAX_AUTHOR),
        date=date,
        parents=tuple(str(p) for p in commit.parent_ids),
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
