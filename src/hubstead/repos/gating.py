"""Access requests to gated repos, as huggingface.co runs them: a user asks (``auto`` gates accept at once,
``manual`` ones leave the request pending); the repo's managers list requests by status, accept, reject or
reset them to pending, and grant access to a user who never asked. Downloads check the outcome in
``RepoService.get_repo_for_download``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hubstead.accounts.models import Account, AccountType
from hubstead.accounts.permissions import Actor
from hubstead.audit.services import AuditLog
from hubstead.db.base import utcnow
from hubstead.errors import (
    AccessRequestNotFoundError,
    AccountNotFoundError,
    AuthenticationError,
    InvalidInputError,
    PermissionDeniedError,
)
from hubstead.repos.models import AccessRequest, AccessRequestStatus, Repo, RepoType
from hubstead.repos.services import RepoService, access_to

MAX_FIELDS_BYTES = 8 * 1024
MAX_REASON = 200
MAX_PAGE = 1000


class AccessRequestService:
    """Raises only Hubstead errors; never commits. A repo the actor may not read stays "not found"."""

    def __init__(self, repos: RepoService) -> None:
        self.repos = repos
        self.session = repos.session

    def ask_access(
        self, actor: Actor, repo_type: RepoType, repo_id: str, fields: dict[str, Any] | None
    ) -> AccessRequest:
        """Ask for the files of a gated repo; accepted at once by an ``auto`` gate. Asking again changes
        nothing (a rejected request stays rejected)."""
        repo = self.repos.get_repo(repo_type, repo_id, actor)
        if actor.account is None:
            raise AuthenticationError("You must be authenticated to ask for access")
        self._require_gated(repo)
        if fields is not None and len(repr(fields)) > MAX_FIELDS_BYTES:
            raise InvalidInputError(f"The form's fields may hold at most {MAX_FIELDS_BYTES} characters")
        request = self._find(repo, actor.account)
        if request is None:
            status = AccessRequestStatus.ACCEPTED if repo.gated == "auto" else AccessRequestStatus.PENDING
            request = AccessRequest(repo_id=repo.id, user_id=actor.account.id, status=status, fields=fields)
            self.session.add(request)
            self.session.flush()
            AuditLog(self.session).record(
                "access_request.create", actor, repo.type.value, repo.repo_id, status=status.value
            )
        return request

    def find_own_request(self, actor: Actor, repo: Repo) -> AccessRequest | None:
        """The signed-in ``actor``'s request for the files of ``repo``, if they made one (or were granted access
        without one); None for an anonymous caller."""
        return None if actor.account is None else self._find(repo, actor.account)

    def list_requests(
        self,
        actor: Actor,
        repo_type: RepoType,
        repo_id: str,
        status: AccessRequestStatus,
        *,
        after: int | None = None,
        limit: int = MAX_PAGE,
    ) -> list[tuple[AccessRequest, Account]]:
        """Requests with ``status``, oldest first, from after the request id ``after`` (a cursor)."""
        repo = self._managed_repo(actor, repo_type, repo_id, listing=True)
        query = (
            select(AccessRequest, Account)
            .join(Account, Account.id == AccessRequest.user_id)
            .where(AccessRequest.repo_id == repo.id, AccessRequest.status == status)
            .order_by(AccessRequest.id)
            .limit(max(1, limit))
        )
        if after is not None:
            query = query.where(AccessRequest.id > after)
        rows = self.session.execute(query)
        return [(request, user) for request, user in rows.all()]

    def handle_request(
        self,
        actor: Actor,
        repo_type: RepoType,
        repo_id: str,
        who: str | int,
        status: AccessRequestStatus,
        rejection_reason: str | None = None,
    ) -> None:
        """Move the request of ``who`` (a user name, or a request id) to ``status``; 404 if there is none, or
        if it already has that status."""
        repo = self._managed_repo(actor, repo_type, repo_id)
        if rejection_reason is not None and (
            status != AccessRequestStatus.REJECTED or len(rejection_reason) > MAX_REASON
        ):
            raise InvalidInputError(f"rejectionReason goes with status 'rejected' and is at most {MAX_REASON} long")
        if isinstance(who, int):
            request = self.session.get(AccessRequest, who)
            request = request if request is not None and request.repo_id == repo.id else None
        else:
            request = self._find(repo, self._user(who))
        if request is None:
            raise AccessRequestNotFoundError(f"No such access request for {repo.repo_id}")
        user = self.session.get(Account, request.user_id)
        assert user is not None  # the foreign key cascades
        if request.status == status:
            raise AccessRequestNotFoundError(f"The access request of {user.name} is already {status.value}")
        previous = request.status
        request.status, request.updated_at = status, utcnow()
        request.rejection_reason = rejection_reason if status == AccessRequestStatus.REJECTED else None
        request.decided_by = actor.account.name if actor.account else None
        self.session.flush()
        AuditLog(self.session).record(
            "access_request.handle",
            actor,
            repo.type.value,
            repo.repo_id,
            user=user.name,
            status=status.value,
            previous=previous.value,
        )

    def grant_access(self, actor: Actor, repo_type: RepoType, repo_id: str, username: str) -> None:
        """Accept ``username`` without a request of theirs; 400 if they already have access."""
        repo = self._managed_repo(actor, repo_type, repo_id)
        user = self._user(username)
        request = self._find(repo, user)
        if request is not None and request.status == AccessRequestStatus.ACCEPTED:
            raise InvalidInputError(f"{user.name} already has access to {repo.repo_id}")
        if request is None:
            request = AccessRequest(repo_id=repo.id, user_id=user.id, status=AccessRequestStatus.ACCEPTED)
            self.session.add(request)
        request.status, request.updated_at, request.rejection_reason = AccessRequestStatus.ACCEPTED, utcnow(), None
        request.decided_by = actor.account.name if actor.account else None
        self.session.flush()
        AuditLog(self.session).record("access_request.grant", actor, repo.type.value, repo.repo_id, user=user.name)

    # --- helpers ------------------------------------------------------------------------------

    def _managed_repo(self, actor: Actor, repo_type: RepoType, repo_id: str, *, listing: bool = False) -> Repo:
        repo = self.repos.get_repo(repo_type, repo_id, actor)
        access = access_to(actor, repo)
        if actor.account is None:
            raise AuthenticationError("You must be authenticated to manage access requests")
        if not (access.see_requests if listing else access.write):
            raise PermissionDeniedError(f"You may not manage the access requests of {repo.repo_id}")
        self._require_gated(repo)
        return repo

    @staticmethod
    def _require_gated(repo: Repo) -> None:
        if repo.gated is None:
            raise InvalidInputError(f"{repo.type.value} {repo.repo_id} is not gated")

    def _user(self, name: str) -> Account:
        user = self.repos.accounts.find_account(name)
        if user is None or user.type != AccountType.USER:
            raise AccountNotFoundError(f"No user named {name}")
        return user

    def _find(self, repo: Repo, user: Account) -> AccessRequest | None:
        return self.session.scalar(
            select(AccessRequest).where(AccessRequest.repo_id == repo.id, AccessRequest.user_id == user.id)
        )
