"""Reading repos: revisions, files (with their LFS pointers), trees, paths-info, refs and history."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hubstead.errors import (
    EntryNotFoundError,
    InvalidInputError,
    PermissionDeniedError,
    RefAlreadyExistsError,
    RevisionNotFoundError,
)
from hubstead.gitstore import CommitMeta, FileDiff, GitRepo, RefSet, TreeEntry
from hubstead.gitstore.store import FULL_SHA
from hubstead.repos.lfs_pointer import MAX_POINTER_SIZE, MIN_POINTER_SIZE, LfsPointer, parse_pointer
from hubstead.repos.models import Repo
from hubstead.repos.naming import ref_name_problem, validate_path_in_repo
from hubstead.repos.services import DEFAULT_BRANCH, RepoService
from hubstead.storage import BlobStore
from hubstead.xet.services import CasService, repo_objects

MAX_TAG_MESSAGE = 65_536  # characters, as a commit's description


@dataclass(frozen=True)
class RepoEntry:
    """A tree entry with its LFS pointer, if it is one; ``size`` is the real content size."""

    entry: TreeEntry
    lfs: LfsPointer | None = None
    pointer_size: int = 0

    @property
    def path(self) -> str:
        return self.entry.path

    @property
    def size(self) -> int:
        return self.lfs.size if self.lfs else self.entry.size


@dataclass(frozen=True)
class ResolvedFile:
    commit: str
    entry: RepoEntry
    repo_pk: int = 0

    @property
    def etag(self) -> str:
        return self.entry.lfs.oid if self.entry.lfs else self.entry.entry.oid


@dataclass(frozen=True)
class TreePage:
    entries: list[RepoEntry]
    next_cursor: str | None  # where the next page starts (its first entry's ``walk_key``)


class FileService:
    """Read-only views of a repo at a revision, and its refs."""

    def __init__(self, repos: RepoService, blobs: BlobStore) -> None:
        self.repos = repos
        self.blobs = blobs

    def resolve(self, repo: Repo, revision: str) -> tuple[GitRepo, str]:
        git = self.repos.open_git_for_reading(repo)  # every caller only reads
        return git, git.resolve(revision)

    def describe(self, git: GitRepo, entry: TreeEntry) -> RepoEntry:
        if entry.type == "file" and MIN_POINTER_SIZE <= entry.size <= MAX_POINTER_SIZE:
            pointer = parse_pointer(git.read_blob(entry.oid))
            if pointer is not None:
                return RepoEntry(entry, pointer, entry.size)
        return RepoEntry(entry)

    def get_file(self, repo: Repo, revision: str, path: str) -> tuple[GitRepo, ResolvedFile]:
        git, sha = self.resolve(repo, revision)
        entry = git.get_entry(sha, path) if path else None
        if entry is None or entry.type != "file":
            raise EntryNotFoundError(f"Entry not found: {path} does not exist at revision {revision}", commit=sha)
        return git, ResolvedFile(commit=sha, entry=self.describe(git, entry), repo_pk=repo.id)

    def read_bytes(self, git: GitRepo, file: ResolvedFile, start: int, end: int) -> Iterator[bytes | memoryview]:
        """The file's bytes ``[start, end)``: LFS files from the BlobStore or their Xet chunks, others from git."""
        if file.entry.lfs:
            return repo_objects(self.repos.session, self.blobs).read(file.repo_pk, file.entry.lfs.oid, start, end)
        return iter([git.read_blob(file.entry.entry.oid)[start:end]])

    def xet_hashes(self, repo: Repo, entries: list[RepoEntry]) -> dict[str, str]:
        """Xet file hash of each LFS object among ``entries`` that has one (for ``xetHash``), by sha256."""
        oids = [e.lfs.oid for e in entries if e.lfs is not None]
        if not oids:
            return {}
        found = CasService(self.repos.session, self.blobs).xet_hashes(repo.id, oids)
        return {sha: ref.file_hash for sha, ref in found.items()}

    def list_tree(
        self, repo: Repo, revision: str, path: str, recursive: bool, cursor: str | None, limit: int
    ) -> tuple[GitRepo, str, TreePage]:
        """One page of entries; ``cursor`` is a previous page's ``next_cursor``, so that each page costs the
        same however deep into a large tree it starts."""
        git, sha = self.resolve(repo, revision)
        path = path.strip("/")
        if path:
            validate_path_in_repo(path)
        page: list[RepoEntry] = []
        for entry in git.iter_tree(sha, path, recursive, start_at=cursor or None):
            if len(page) == limit:
                return git, sha, TreePage(page, entry.walk_key)
            page.append(self.describe(git, entry))
        return git, sha, TreePage(page, None)

    def paths_info(self, repo: Repo, revision: str, paths: list[str]) -> tuple[GitRepo, str, list[RepoEntry]]:
        git, sha = self.resolve(repo, revision)
        out = []
        for path in dict.fromkeys(p.strip("/") for p in paths):
            entry = git.get_entry(sha, path) if path else None
            if entry is not None:
                out.append(self.describe(git, entry))
        return git, sha, out

    def all_files(self, git: GitRepo, sha: str) -> list[RepoEntry]:
        return [self.describe(git, e) for e in git.iter_tree(sha, "", recursive=True) if e.type == "file"]

    def last_commits(self, git: GitRepo, sha: str, entries: list[RepoEntry]) -> dict[str, CommitMeta]:
        return git.last_commits(sha, [e.path for e in entries])

    # --- refs and history ---------------------------------------------------------------------

    def list_refs(self, repo: Repo) -> RefSet:
        return self.repos.open_git(repo).list_refs()

    def list_commits(self, repo: Repo, revision: str, skip: int, limit: int) -> tuple[list[CommitMeta], int]:
        git, sha = self.resolve(repo, revision)
        return git.log(sha, skip, limit), git.count_commits(sha)

    def get_commit(self, repo: Repo, revision: str) -> tuple[CommitMeta, list[FileDiff]]:
        """One commit and what it changed (LFS files show their pointers' change)."""
        git, sha = self.resolve(repo, revision)
        return git.commit_meta(sha), git.diff_commit(sha)

    def create_branch(self, repo: Repo, branch: str, starting_point: str | None) -> str:
        git = self.repos.open_git(repo)
        if branch.startswith("refs/") or not GitRepo.valid_ref_name(f"refs/heads/{branch}"):
            raise InvalidInputError(f"Invalid reference for a branch: {branch}")
        if problem := ref_name_problem(branch):
            raise InvalidInputError(f"Invalid branch name {branch!r}: {problem}")
        sha = git.resolve(starting_point or DEFAULT_BRANCH)
        if git.ref_target(f"refs/heads/{branch}") is not None:
            raise RefAlreadyExistsError(f"Reference refs/heads/{branch} already exists")
        self.repos.move_ref(repo, f"refs/heads/{branch}", sha, None)
        return sha

    def delete_branch(self, repo: Repo, branch: str) -> None:
        git = self.repos.open_git(repo)
        if branch == DEFAULT_BRANCH:
            raise PermissionDeniedError(f"Cannot delete refs/heads/{DEFAULT_BRANCH}")
        old = git.ref_target(f"refs/heads/{branch}")
        if old is None:
            raise RevisionNotFoundError(f"Invalid rev id: {branch}")
        self.repos.move_ref(repo, f"refs/heads/{branch}", None, old)

    def super_squash(self, repo: Repo, branch: str, message: str, author: tuple[str, str]) -> str:
        """Replace the history of ``branch`` with one commit of its current files (``HfApi.super_squash_history``);
        the old commits stay reachable from tags and other branches that hold them."""
        git = self.repos.open_git(repo)
        ref = f"refs/heads/{branch}"
        tip = git.ref_target(ref) if GitRepo.valid_ref_name(ref) else None
        if tip is None:
            if git.ref_target(f"refs/tags/{branch}") is not None or FULL_SHA.match(branch):
                raise InvalidInputError(f"Invalid reference for a branch: {branch} (only branches can be squashed)")
            raise RevisionNotFoundError(f"Invalid rev id: {branch}")
        if not message.strip() or len(message) > MAX_TAG_MESSAGE or "\x00" in message:
            raise InvalidInputError(f"A squash message has 1 to {MAX_TAG_MESSAGE:,} characters, none of them NUL")
        sha = git.write_commit(git.tree_of(tip), [], message, *author)
        self.repos.move_ref(repo, ref, sha, tip)  # ConcurrentUpdateError (409) if the branch moved meanwhile
        if branch == DEFAULT_BRANCH:
            self.repos.record_commit(repo, sha)
        return sha

    def create_tag(self, repo: Repo, revision: str, tag: str, message: str | None, tagger: tuple[str, str]) -> str:
        git = self.repos.open_git(repo)
        if not isinstance(tag, str) or tag.startswith("refs/") or not GitRepo.valid_ref_name(f"refs/tags/{tag}"):
            raise InvalidInputError(f"Invalid tag name: {tag!r}")
        if problem := ref_name_problem(tag):
            raise InvalidInputError(f"Invalid tag name {tag!r}: {problem}")
        sha = git.resolve(revision)
        if git.ref_target(f"refs/tags/{tag}") is not None:
            raise RefAlreadyExistsError(f"Tag {tag} already exists")
        if message and (len(message) > MAX_TAG_MESSAGE or "\x00" in message):
            raise InvalidInputError(f"A tag message has at most {MAX_TAG_MESSAGE:,} characters, none of them NUL")
        if message:
            git.create_annotated_tag(tag, sha, message, *tagger)
            return sha
        self.repos.move_ref(repo, f"refs/tags/{tag}", sha, None)
        return sha

    def delete_tag(self, repo: Repo, tag: str) -> None:
        git = self.repos.open_git(repo)
        if git.ref_target(f"refs/tags/{tag}") is None:
            raise RevisionNotFoundError(f"Invalid rev id: {tag}")
        git.delete_ref(f"refs/tags/{tag}")
