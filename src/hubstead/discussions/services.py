"""DiscussionService: discussions and pull requests on a repo, their timelines, and merging.

A pull request's changes live on the git ref ``refs/pr/{num}``, started at the tip of its target branch; it
takes commits from the HTTP commit endpoint (``revision=refs/pr/N``, or ``create_pr=1`` for a new one) and
from ``git push``. Who may do what:

- reading: whoever may read the repo (a private repo's discussions are as invisible as the repo);
- opening discussions and pull requests, commenting: any signed-in reader, through a credential that may
  write (a password, a write token, or a fine-grained token holding ``discussion.write`` or ``repo.write``);
- pushing to a pull request: its author (as above), or anyone who may write to the repo;
- editing a comment: its author; hiding one, renaming a discussion, closing or reopening it: its author or the
  repo's maintainers (write access); merging: the maintainers only.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hubstead.accounts.models import Account, TokenRole
from hubstead.accounts.permissions import Actor
from hubstead.accounts.scopes import REPO_WRITE
from hubstead.db.base import utcnow
from hubstead.discussions.models import Discussion, DiscussionEvent, DiscussionStatus, EventType
from hubstead.errors import (
    AuthenticationError,
    ConcurrentUpdateError,
    DiscussionNotFoundError,
    InvalidInputError,
    MergeConflictError,
    PermissionDeniedError,
    RevisionNotFoundError,
)
from hubstead.gitstore import CommitMeta, GitRepo
from hubstead.gitstore.hooks import RefUpdate
from hubstead.repos.models import Repo, RepoType
from hubstead.repos.push import Pusher
from hubstead.repos.services import DEFAULT_BRANCH, RepoService, access_to, author_email

DISCUSSION_WRITE = "discussion.write"
MAX_TITLE = 200
MAX_COMMENT = 65_536
PAGE_SIZE = 50
MAX_DIFF = 1_000_000
MAX_COMMIT_EVENTS = 100
NUMBER_RETRIES = 8
PR_REF = re.compile(r"^refs/pr/([1-9][0-9]{0,8})$")
OPEN_STATES = (DiscussionStatus.OPEN, DiscussionStatus.DRAFT)
STATUS_FILTERS: dict[str, tuple[DiscussionStatus, ...] | None] = {
    "all": None,
    "open": OPEN_STATES,
    "closed": (DiscussionStatus.CLOSED, DiscussionStatus.MERGED),
    "merged": (DiscussionStatus.MERGED,),
    "draft": (DiscussionStatus.DRAFT,),
}
TYPE_FILTERS: dict[str, bool | None] = {"all": None, "discussion": False, "pull_request": True}


def pr_number(revision: str) -> int | None:
    """N for ``refs/pr/N``; None for any other revision."""
    match = PR_REF.match(revision)
    return int(match.group(1)) if match else None


def may_discuss(actor: Actor, repo: Repo) -> bool:
    """Whether the caller's credential may write to discussions (reading the repo is checked elsewhere)."""
    token = actor.token
    if actor.account is None:
        return False
    if token is None or token.role == TokenRole.WRITE:
        return True
    if token.role == TokenRole.READ or actor.scopes is None:
        return False
    permissions = actor.scopes.repo_permissions(repo.type.value, repo.namespace, repo.name)
    return bool(permissions & {DISCUSSION_WRITE, REPO_WRITE})


@dataclass(frozen=True)
class DiscussionPage:
    items: list[Discussion]
    total: int
    start: int


@dataclass(frozen=True)
class PullRequestState:
    conflicts: list[str]
    diff: str | None


class DiscussionService:
    """Discussions and pull requests of repos. Raises RepoNotFoundError for repos the actor can't read."""

    def __init__(self, repos: RepoService) -> None:
        self.repos = repos
        self.session = repos.session

    # --- access -------------------------------------------------------------------------------

    def get_repo(self, repo_type: RepoType, repo_id: str, actor: Actor) -> Repo:
        return self.repos.get_repo(repo_type, repo_id, actor)

    def get_repo_for_discussion(self, repo_type: RepoType, repo_id: str, actor: Actor) -> Repo:
        """The repo, if ``actor`` may open discussions and pull requests on it."""
        repo = self.repos.get_repo(repo_type, repo_id, actor)
        self._require_discuss(actor, repo)
        return repo

    @staticmethod
    def _require_discuss(actor: Actor, repo: Repo) -> None:
        if actor.account is None:
            raise AuthenticationError("You must be authenticated to take part in discussions")
        if not may_discuss(actor, repo):
            raise PermissionDeniedError(
                "This token may not write to discussions: use a write token, or a fine-grained token with the "
                "discussion.write permission"
            )

    @staticmethod
    def _require_author_or_maintainer(actor: Actor, repo: Repo, author_id: int | None, what: str) -> None:
        if actor.account is None:
            raise AuthenticationError(f"You must be authenticated to {what}")
        if access_to(actor, repo).write:
            return
        if author_id is not None and actor.account.id == author_id and may_discuss(actor, repo):
            return
        raise PermissionDeniedError(f"Only its author and the repo's maintainers may {what}")

    @staticmethod
    def _require_maintainer(actor: Actor, repo: Repo, what: str) -> None:
        if actor.account is None:
            raise AuthenticationError(f"You must be authenticated to {what}")
        if not access_to(actor, repo).write:
            raise PermissionDeniedError(f"Only the maintainers of {repo.type.value} {repo.repo_id} may {what}")

    def may_read_files(self, repo: Repo, actor: Actor) -> bool:
        """Whether ``actor`` may see file contents (a gated repo's diffs need an accepted access request)."""
        return self.repos.may_download(repo, actor)

    # --- reading ------------------------------------------------------------------------------

    def list_discussions(
        self, repo: Repo, page: int, author: str | None = None, kind: str | None = None, status: str | None = None
    ) -> DiscussionPage:
        """One page (newest first) of the repo's discussions, filtered as ``get_repo_discussions`` asks."""
        if (kind or "all") not in TYPE_FILTERS:
            raise InvalidInputError("type must be one of: all, discussion, pull_request")
        if (status or "all") not in STATUS_FILTERS:
            raise InvalidInputError("status must be one of: all, open, closed, merged, draft")
        conditions: list[Any] = [Discussion.repo_id == repo.id]
        is_pr = TYPE_FILTERS[kind or "all"]
        if is_pr is not None:
            conditions.append(Discussion.is_pull_request.is_(is_pr))
        statuses = STATUS_FILTERS[status or "all"]
        if statuses is not None:
            conditions.append(Discussion.status.in_(statuses))
        if author:
            account = self.repos.accounts.find_account(author)
            if account is None:
                return DiscussionPage([], 0, page * PAGE_SIZE)
            conditions.append(Discussion.author_id == account.id)
        total = self.session.scalar(select(func.count()).select_from(Discussion).where(*conditions)) or 0
        items = self.session.scalars(
            select(Discussion)
            .where(*conditions)
            .order_by(Discussion.num.desc())
            .offset(page * PAGE_SIZE)
            .limit(PAGE_SIZE)
        ).all()
        return DiscussionPage(list(items), total, page * PAGE_SIZE)

    def get_discussion(self, repo: Repo, num: int) -> Discussion:
        found = self.session.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == num))
        if found is None:
            raise DiscussionNotFoundError(f"Discussion #{num} not found on {repo.type.value} {repo.repo_id}")
        return found

    def list_events(self, discussion: Discussion) -> list[DiscussionEvent]:
        return list(
            self.session.scalars(
                select(DiscussionEvent)
                .where(DiscussionEvent.discussion_id == discussion.id)
                .order_by(DiscussionEvent.id)
            )
        )

    def comment_counts(self, discussions: Sequence[Discussion]) -> dict[int, int]:
        if not discussions:
            return {}
        rows = self.session.execute(
            select(DiscussionEvent.discussion_id, func.count())
            .where(
                DiscussionEvent.discussion_id.in_([d.id for d in discussions]),
                DiscussionEvent.type == EventType.COMMENT,
            )
            .group_by(DiscussionEvent.discussion_id)
        )
        return dict(rows.all())

    def account_names(self, ids: Iterable[int | None]) -> dict[int, str]:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        return dict(self.session.execute(select(Account.id, Account.name).where(Account.id.in_(wanted))).all())

    def pull_request_state(self, repo: Repo, discussion: Discussion, with_diff: bool) -> PullRequestState:
        """The files that would conflict on merging, and (``with_diff``) the diff against the target branch."""
        git = self.repos.open_git(repo)
        head = git.ref_target(discussion.git_ref)
        tip = git.ref_target(discussion.target_branch or "")
        if head is None or tip is None:
            return PullRequestState([], None)
        conflicts: list[str] = []
        if discussion.status in OPEN_STATES and not git.is_ancestor(tip, head) and not git.is_ancestor(head, tip):
            conflicts = git.merge_trees(tip, head)[1]
        diff = None
        if with_diff:
            base = git.merge_base(tip, head) or tip
            diff = git.diff_text(base, head, MAX_DIFF)
        return PullRequestState(conflicts, diff)

    # --- opening ------------------------------------------------------------------------------

    def create_discussion(
        self, repo: Repo, actor: Actor, title: Any, description: Any, pull_request: bool
    ) -> Discussion:
        """A discussion, or a pull request (a draft until commits land on ``refs/pr/{num}``) onto the default
        branch. A non-empty description becomes the first comment."""
        self._require_discuss(actor, repo)
        title = _title(title)
        text = _comment_text(description, allow_empty=True)
        if pull_request:
            discussion = self._insert(repo, actor, title, DiscussionStatus.DRAFT, f"refs/heads/{DEFAULT_BRANCH}")
            self._start_ref(repo, discussion)
        else:
            discussion = self._insert(repo, actor, title, DiscussionStatus.OPEN, None)
        if text:
            self._comment(discussion, actor, text)
        return discussion

    def commit_pull_request(
        self, repo: Repo, actor: Actor, base: str, apply: Callable[[str], str]
    ) -> tuple[Discussion, str]:
        """Open a pull request onto branch ``base`` whose first commit ``apply(ref)`` makes (it returns the
        commit's sha). The commit's title becomes the pull request's, its message the first comment."""
        self._require_discuss(actor, repo)
        git = self.repos.open_git(repo)
        target = _branch_ref(git, base)
        discussion = self._insert(repo, actor, "Pull request", DiscussionStatus.OPEN, target)
        self._start_ref(repo, discussion)
        try:
            sha = apply(discussion.git_ref)
        except BaseException:
            with contextlib.suppress(ConcurrentUpdateError):  # the unit of work rolls back: so does the ref
                git.delete_ref(discussion.git_ref)
            raise
        meta = git.commit_meta(sha)
        discussion.title = meta.title[:MAX_TITLE] or discussion.title
        if meta.message:
            self._comment(discussion, actor, meta.message[:MAX_COMMENT])
        self._commit_events(discussion, actor.account.id if actor.account else None, [meta])
        return discussion, sha

    def _insert(self, repo: Repo, actor: Actor, title: str, status: DiscussionStatus, target: str | None) -> Discussion:
        """A new discussion with the repo's next number (a savepoint per try: two may race for one)."""
        assert actor.account is not None
        for _ in range(NUMBER_RETRIES):
            last = self.session.scalar(select(func.max(Discussion.num)).where(Discussion.repo_id == repo.id))
            now = utcnow()
            discussion = Discussion(
                repo_id=repo.id,
                num=(last or 0) + 1,
                title=title,
                author_id=actor.account.id,
                status=status,
                is_pull_request=target is not None,
                target_branch=target,
                created_at=now,
                updated_at=now,
            )
            try:
                with self.session.begin_nested():
                    self.session.add(discussion)
            except IntegrityError:
                continue
            return discussion
        raise ConcurrentUpdateError("Too many discussions are being opened at once on this repo; please retry")

    def _start_ref(self, repo: Repo, discussion: Discussion) -> None:
        git = self.repos.open_git(repo)
        tip = git.ref_target(discussion.target_branch or "")
        if tip is None:
            raise RevisionNotFoundError(f"Invalid rev id: {discussion.target_branch}")
        # a ref of this number can only be the leftover of an opening that was rolled back: take it over
        self.repos.move_ref(repo, discussion.git_ref, tip, git.ref_target(discussion.git_ref))

    # --- pushing to pull requests -------------------------------------------------------------

    def get_pull_request_for_push(
        self, repo_type: RepoType, repo_id: str, actor: Actor, revision: str
    ) -> tuple[Repo, Discussion]:
        """The repo and the open pull request of ``refs/pr/N`` if ``actor`` may commit to it: its author, or
        anyone who may write to the repo."""
        repo = self.repos.get_repo(repo_type, repo_id, actor)
        discussion = self._open_pull_request(repo, revision)
        self._require_pusher(actor, repo, discussion)
        return repo, discussion

    def _open_pull_request(self, repo: Repo, ref: str) -> Discussion:
        num = pr_number(ref)
        found = (
            self.session.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == num))
            if num is not None
            else None
        )
        if found is None or not found.is_pull_request:
            raise RevisionNotFoundError(f"Invalid rev id: {ref}")
        if found.status not in OPEN_STATES:
            raise InvalidInputError(f"Pull request #{found.num} is {found.status.value}: it takes no more commits")
        return found

    def _require_pusher(self, actor: Actor, repo: Repo, discussion: Discussion) -> None:
        if actor.account is None:
            raise AuthenticationError("You must be authenticated to write to a repository")
        if access_to(actor, repo).write:
            return
        self._require_discuss(actor, repo)
        if actor.account.id != discussion.author_id:
            raise PermissionDeniedError(f"Only its author and the repo's maintainers may push to {discussion.git_ref}")

    def record_commit(self, repo: Repo, discussion: Discussion, actor: Actor, sha: str) -> None:
        """A commit landed on the pull request through the API."""
        meta = self.repos.open_git(repo).commit_meta(sha)
        self._commit_events(discussion, actor.account.id if actor.account else None, [meta])

    def check_pr_update(self, repo: Repo, pusher: Pusher, update: RefUpdate) -> None:
        """git push: may ``pusher`` move ``refs/pr/N`` so? (Raises PermissionDeniedError.)"""
        if update.new is None:
            raise PermissionDeniedError(f"{update.ref}: pull request refs cannot be deleted")
        try:
            discussion = self._open_pull_request(repo, update.ref)
        except (RevisionNotFoundError, InvalidInputError) as exc:
            raise PermissionDeniedError(f"{update.ref}: {exc.message}") from None
        if not pusher.write and not (pusher.discuss and pusher.account_id == discussion.author_id):
            raise PermissionDeniedError(f"{update.ref}: only its author and the repo's maintainers may push to it")

    def record_pr_update(self, repo: Repo, pusher: Pusher, update: RefUpdate) -> None:
        """git push: commits landed on ``refs/pr/N``."""
        num = pr_number(update.ref)
        discussion = self.session.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == num))
        if discussion is None or update.new is None:
            return
        git = self.repos.open_git(repo)
        old = update.old or git.ref_target(discussion.target_branch or "")
        self._commit_events(discussion, pusher.account_id, git.commits_between(old, update.new, MAX_COMMIT_EVENTS))

    def _commit_events(self, discussion: Discussion, author_id: int | None, commits: list[CommitMeta]) -> None:
        for meta in commits:
            self._event(discussion, EventType.COMMIT, author_id, {"subject": meta.title, "oid": meta.sha})
        if commits and discussion.status is DiscussionStatus.DRAFT:
            discussion.status = DiscussionStatus.OPEN
        self.session.flush()

    # --- comments -----------------------------------------------------------------------------

    def add_comment(self, repo: Repo, actor: Actor, num: int, text: Any) -> DiscussionEvent:
        self._require_discuss(actor, repo)
        discussion = self.get_discussion(repo, num)
        return self._comment(discussion, actor, _comment_text(text))

    def edit_comment(self, repo: Repo, actor: Actor, num: int, comment_id: str, text: Any) -> DiscussionEvent:
        discussion = self.get_discussion(repo, num)
        event = self._get_comment(discussion, comment_id)
        if actor.account is None:
            raise AuthenticationError("You must be authenticated to edit a comment")
        if actor.account.id != event.author_id or not may_discuss(actor, repo):
            raise PermissionDeniedError("Only its author may edit a comment")
        if event.hidden:
            raise InvalidInputError("A hidden comment cannot be edited")
        version = _version(_comment_text(text), actor.account.id)
        event.data = {**event.data, "history": [version, *event.data.get("history", [])]}
        self._touch(discussion)
        return event

    def hide_comment(self, repo: Repo, actor: Actor, num: int, comment_id: str) -> DiscussionEvent:
        """Hide a comment for good: its text, and every earlier version of it, is erased."""
        discussion = self.get_discussion(repo, num)
        event = self._get_comment(discussion, comment_id)
        self._require_author_or_maintainer(actor, repo, event.author_id, "hide a comment")
        assert actor.account is not None
        if not event.hidden:
            event.hidden = True
            event.data = {"history": [_version("", actor.account.id)], "hiddenBy": actor.account.id}
            self._touch(discussion)
        return event

    def _get_comment(self, discussion: Discussion, comment_id: str) -> DiscussionEvent:
        event_id = int(comment_id, 16) if re.fullmatch(r"[0-9a-f]{1,24}", comment_id) else None
        event = self.session.get(DiscussionEvent, event_id) if event_id is not None else None
        if event is None or event.discussion_id != discussion.id or event.type is not EventType.COMMENT:
            raise DiscussionNotFoundError(f"Comment {comment_id[:40]} not found in discussion #{discussion.num}")
        return event

    def _comment(self, discussion: Discussion, actor: Actor, text: str) -> DiscussionEvent:
        assert actor.account is not None
        return self._event(
            discussion, EventType.COMMENT, actor.account.id, {"history": [_version(text, actor.account.id)]}
        )

    def _event(
        self, discussion: Discussion, kind: EventType, author_id: int | None, data: dict[str, Any]
    ) -> DiscussionEvent:
        event = DiscussionEvent(
            discussion_id=discussion.id, type=kind, author_id=author_id, hidden=False, data=data, created_at=utcnow()
        )
        self.session.add(event)
        self._touch(discussion)
        return event

    def _touch(self, discussion: Discussion) -> None:
        discussion.updated_at = utcnow()
        self.session.flush()

    # --- title and status ---------------------------------------------------------------------

    def rename(self, repo: Repo, actor: Actor, num: int, title: Any) -> DiscussionEvent:
        discussion = self.get_discussion(repo, num)
        self._require_author_or_maintainer(actor, repo, discussion.author_id, "rename a discussion")
        new = _title(title)
        event = self._event(
            discussion, EventType.TITLE_CHANGE, actor.account.id if actor.account else None,
            {"from": discussion.title, "to": new},
        )  # fmt: skip
        discussion.title = new
        self.session.flush()
        return event

    def change_status(self, repo: Repo, actor: Actor, num: int, status: Any, comment: Any) -> DiscussionEvent:
        """Close or reopen a discussion or pull request (its author, or a maintainer), with an optional comment."""
        discussion = self.get_discussion(repo, num)
        self._require_author_or_maintainer(actor, repo, discussion.author_id, "change the status of a discussion")
        assert actor.account is not None
        if status not in (DiscussionStatus.OPEN.value, DiscussionStatus.CLOSED.value):
            raise InvalidInputError("status must be 'open' or 'closed'")
        if discussion.status is DiscussionStatus.MERGED:
            raise InvalidInputError(f"Pull request #{num} is merged: its status can no longer change")
        new = DiscussionStatus(status)
        if discussion.status is new:
            raise InvalidInputError(f"Discussion #{num} is already {new.value}")
        text = _comment_text(comment, allow_empty=True)
        if text:
            self._comment(discussion, actor, text)
        discussion.status = new
        return self._event(discussion, EventType.STATUS_CHANGE, actor.account.id, {"status": new.value})

    # --- merging ------------------------------------------------------------------------------

    def merge(self, repo: Repo, actor: Actor, num: int, comment: Any) -> str:
        """Merge an open pull request into its target branch: a fast-forward when the branch has not moved,
        else a merge commit; refused (MergeConflictError) when files conflict. Returns the branch's new tip."""
        discussion = self.get_discussion(repo, num)
        self._require_maintainer(actor, repo, "merge pull requests")
        assert actor.account is not None
        if not discussion.is_pull_request:
            raise InvalidInputError(f"Discussion #{num} is not a pull request")
        if discussion.status not in OPEN_STATES:
            raise InvalidInputError(f"Pull request #{num} is {discussion.status.value}: only open ones can be merged")
        text = _comment_text(comment, allow_empty=True)
        git = self.repos.open_git(repo)
        target = discussion.target_branch or f"refs/heads/{DEFAULT_BRANCH}"
        tip, head = git.ref_target(target), git.ref_target(discussion.git_ref)
        if tip is None or head is None:
            raise RevisionNotFoundError(f"Invalid rev id: {target if tip is None else discussion.git_ref}")
        new = self._merged_tip(git, discussion, tip, head, actor.account)
        if new != tip:
            self.repos.move_ref(repo, target, new, tip)  # ConcurrentUpdateError (409) if the branch moved meanwhile
            if target == f"refs/heads/{DEFAULT_BRANCH}":
                self.repos.record_commit(repo, new)
        if text:
            self._comment(discussion, actor, text)
        discussion.status = DiscussionStatus.MERGED
        discussion.merge_commit_oid = new
        self._event(discussion, EventType.STATUS_CHANGE, actor.account.id, {"status": DiscussionStatus.MERGED.value})
        return new

    @staticmethod
    def _merged_tip(git: GitRepo, discussion: Discussion, tip: str, head: str, merger: Account) -> str:
        if git.is_ancestor(head, tip):
            return tip  # its changes are on the branch already
        if git.is_ancestor(tip, head):
            return head  # fast-forward
        tree, conflicts = git.merge_trees(tip, head)
        if tree is None:
            listed = ", ".join(conflicts[:10]) + (f" and {len(conflicts) - 10} more" if len(conflicts) > 10 else "")
            raise MergeConflictError(
                f"Pull request #{discussion.num} cannot be merged: conflicting files: {listed}. Update the pull "
                "request with the target branch's changes, then merge again.",
                conflicts,
            )
        message = f"Merge pull request #{discussion.num}: {discussion.title}"
        return git.write_commit(tree, [tip, head], message, merger.name, author_email(merger))


# --- helpers ------------------------------------------------------------------------------------------


def _title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("A discussion needs a non-empty title")
    title = " ".join(value.split())
    if "\x00" in title:
        raise InvalidInputError("A title cannot contain NUL characters")
    if len(title) > MAX_TITLE:
        raise InvalidInputError(f"A title has at most {MAX_TITLE} characters")
    return title


def _comment_text(value: Any, *, allow_empty: bool = False) -> str:
    if value is None and allow_empty:
        return ""
    if not isinstance(value, str):
        raise InvalidInputError("A comment must be a string")
    text = value.strip()
    if not text and not allow_empty:
        raise InvalidInputError("A comment cannot be empty")
    if len(text) > MAX_COMMENT:
        raise InvalidInputError(f"A comment has at most {MAX_COMMENT} characters")
    if "\x00" in text:
        raise InvalidInputError("A comment cannot contain NUL characters")
    return text


def _version(text: str, author_id: int) -> dict[str, Any]:
    return {"raw": text, "updatedAt": utcnow().isoformat(), "author": author_id}


def parse_stamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _branch_ref(git: GitRepo, base: str) -> str:
    """The full ref of branch ``base`` (a pull request targets a branch, never a tag or a commit)."""
    name = base.removeprefix("refs/heads/")
    if base.startswith("refs/") and not base.startswith("refs/heads/"):
        raise InvalidInputError(f"A pull request targets a branch, not {base}")
    if git.ref_target(f"refs/heads/{name}") is None:
        raise RevisionNotFoundError(f"Invalid rev id: {base}")
    return f"refs/heads/{name}"
