"""Pushes by git: what a push may change, decided while git still holds it in quarantine (before any ref
moves), and what the hub records once it has landed.

``git receive-pack`` asks :meth:`PushService.check_push` from its ``pre-receive`` hook: a refusal leaves every
ref where it was and drops the pushed objects. Its ``post-receive`` hook calls :meth:`PushService.record_push`
before the push's HTTP response ends, so the API sees the pushed state as soon as ``git push`` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from hubstead.db.base import utcnow
from hubstead.errors import InvalidCommitError, InvalidInputError, LfsObjectMissingError, PermissionDeniedError
from hubstead.gitstore.hooks import IncomingObjects, RefUpdate
from hubstead.gitstore.store import MAX_COMMIT_OBJECT
from hubstead.repos.lfs_pointer import MAX_POINTER_SIZE, parse_pointer
from hubstead.repos.models import Repo
from hubstead.repos.naming import ref_name_problem
from hubstead.repos.services import DEFAULT_BRANCH, RepoService
from hubstead.storage import BlobStore
from hubstead.xet.services import repo_objects

PUSHABLE_REFS = ("refs/heads/", "refs/tags/")
PR_REFS = "refs/pr/"
MAIN_REF = f"refs/heads/{DEFAULT_BRANCH}"
LISTED_MISSING = 5


@dataclass(frozen=True)
class Pusher:
    """Who pushes, as decided when the push started: may they write to the repo (everything), contribute
    (branches other than the default one), and take part in discussions (push to their own pull requests)?"""

    account_id: int | None
    write: bool
    contribute: bool = False
    discuss: bool = False


WRITER = Pusher(account_id=None, write=True, contribute=True, discuss=True)


class PullRequestPushes(Protocol):
    """What pushes to pull request refs (``refs/pr/N``) need from the discussions domain."""

    def check_pr_update(self, repo: Repo, pusher: Pusher, update: RefUpdate) -> None: ...

    def record_pr_update(self, repo: Repo, pusher: Pusher, update: RefUpdate) -> None: ...


class PushService:
    """Checks pushes against the repo's rules, the pusher's rights and the LFS objects uploaded to the repo;
    records landed pushes. Without ``pull_requests``, pull request refs cannot be pushed."""

    def __init__(self, repos: RepoService, blobs: BlobStore, pull_requests: PullRequestPushes | None = None) -> None:
        self.repos = repos
        self.blobs = blobs
        self.pull_requests = pull_requests

    def check_push(
        self, repo: Repo, updates: Sequence[RefUpdate], incoming: IncomingObjects, pusher: Pusher = WRITER
    ) -> None:
        """Raise PermissionDeniedError or LfsObjectMissingError if the push must be refused as a whole."""
        for update in updates:
            if update.ref.startswith(PR_REFS) and self.pull_requests is not None:
                self.pull_requests.check_pr_update(repo, pusher, update)
                continue
            self._check_ref(repo, update, incoming)
            self._check_pusher(update, pusher)
        self._check_messages(incoming)
        self._check_lfs_pointers(repo, [u.new for u in updates if u.new is not None], incoming)

    def record_push(self, repo: Repo, updates: Iterable[RefUpdate], pusher: Pusher = WRITER) -> None:
        """Refresh what the DB knows if the push moved the default branch, as an API commit does; note the
        commits pushed to pull requests in their timelines."""
        updates = list(updates)
        if self.pull_requests is not None:
            for update in updates:
                if update.ref.startswith(PR_REFS):
                    self.pull_requests.record_pr_update(repo, pusher, update)
        if not any(u.ref == MAIN_REF and u.new is not None for u in updates):
            return
        # Write the repo row first: that takes its lock (the row on PostgreSQL, the database on SQLite) until
        # this unit of work ends. Only then read the branch tip, which an API commit may have moved on since:
        # an API commit moves the ref before it writes the row, so whichever of us writes last has seen the
        # newest tip, and the DB never goes back to an older commit.
        repo.last_modified = utcnow()
        self.repos.session.flush()
        tip = self.repos.open_git(repo).ref_target(MAIN_REF)
        if tip is not None:
            self.repos.record_commit(repo, tip)

    # --- refs ---------------------------------------------------------------------------------

    @staticmethod
    def _check_pusher(update: RefUpdate, pusher: Pusher) -> None:
        """Contributors may create and move branches other than the default one; the rest needs write access."""
        if pusher.write:
            return
        if not pusher.contribute:
            raise PermissionDeniedError(f"{update.ref}: you may push only to your own pull requests (refs/pr/N)")
        if update.ref == MAIN_REF or not update.ref.startswith("refs/heads/"):
            raise PermissionDeniedError(
                f"{update.ref}: contributors may push to branches other than {DEFAULT_BRANCH} only; "
                "open a pull request for the rest"
            )
        if update.new is None:
            raise PermissionDeniedError(f"{update.ref}: deleting a branch needs write access")

    @staticmethod
    def _check_ref(repo: Repo, update: RefUpdate, incoming: IncomingObjects) -> None:
        if not update.ref.startswith(PUSHABLE_REFS):
            raise PermissionDeniedError(
                f"{update.ref}: only branches (refs/heads/*) and tags (refs/tags/*) can be pushed"
            )
        short = update.ref.split("/", 2)[2]
        if update.old is None and (problem := ref_name_problem(short)):
            raise InvalidInputError(f"{update.ref}: {problem}")
        if update.ref != MAIN_REF:
            return
        if update.new is None:
            raise PermissionDeniedError(f"{DEFAULT_BRANCH} is the default branch and cannot be deleted")
        if repo.protect_main and update.old is not None and not incoming.is_ancestor(update.old, update.new):
            raise PermissionDeniedError(
                f"{DEFAULT_BRANCH} is protected: force pushes (non-fast-forward) are refused. "
                f"Fetch, merge or rebase onto the remote {DEFAULT_BRANCH}, then push again."
            )

    # --- messages -----------------------------------------------------------------------------

    @staticmethod
    def _check_messages(incoming: IncomingObjects) -> None:
        """Commit and tag messages are shown in listings and pages: a push brings none longer than a bound (the
        API's summary and description fit well within it)."""
        large = next(incoming.large_commits_and_tags(MAX_COMMIT_OBJECT), None)
        if large is not None:
            oid, size = large
            raise InvalidCommitError(
                f"Push refused: commit or tag {oid} is {size:,} bytes, more than the {MAX_COMMIT_OBJECT:,} allowed "
                "(its message is too long). Shorten it (git commit --amend, or git rebase -i), then push again."
            )

    # --- LFS pointers -------------------------------------------------------------------------

    def _check_lfs_pointers(self, repo: Repo, tips: list[str], incoming: IncomingObjects) -> None:
        """Every LFS pointer the push brings into the repo must name an object the repo may reference (see
        hubstead.objects), with its size."""
        pointers: dict[str, set[int]] = {}
        for _, data in incoming.new_small_blobs(tips, MAX_POINTER_SIZE):
            pointer = parse_pointer(data)
            if pointer is not None:
                pointers.setdefault(pointer.oid, set()).add(pointer.size)
        if not pointers:
            return
        objects = repo_objects(self.repos.session, self.blobs)
        stored = objects.sizes(repo.id, list(pointers))
        missing = sorted(
            oid for oid, sizes in pointers.items() if sizes != {stored.get(oid)} or not objects.available(repo.id, oid)
        )
        if missing:
            listed = ", ".join(missing[:LISTED_MISSING])
            more = f" and {len(missing) - LISTED_MISSING} more" if len(missing) > LISTED_MISSING else ""
            raise LfsObjectMissingError(
                f"Push refused: LFS pointers name objects never uploaded to this repository: {listed}{more}. "
                "Upload them with git-lfs first (git lfs install; git lfs push --all origin), then push again."
            )
