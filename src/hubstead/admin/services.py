"""AdminService: what a site admin may do to accounts and background jobs. Built with the calling ``Actor``
(checked on every call: a site admin; a read token only reads) or with ``None`` for the admin CLI, which runs with the
server's own rights."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hubstead.accounts.models import Account, AccountType, Membership, OrgRole, Token, TokenRole
from hubstead.accounts.permissions import Actor
from hubstead.accounts.services import AccountService
from hubstead.accounts.sessions import SessionService
from hubstead.audit.models import AuditEvent
from hubstead.audit.services import AuditLog
from hubstead.db.base import utcnow
from hubstead.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
    TokenNotFoundError,
)
from hubstead.jobs.models import Job, JobState
from hubstead.jobs.services import JobFilter, JobQueue
from hubstead.repos.models import Repo, RepoType
from hubstead.repos.stats import StatsService

MAX_PAGE = 1000


@dataclass(frozen=True)
class JobSubjects:
    """The repos and accounts a page of jobs names (jobs keep only their ids)."""

    repos: dict[int, Repo]
    accounts: dict[int, str]


class AdminService:
    def __init__(self, session: Session, actor: Actor | None, jobs: JobQueue | None = None) -> None:
        self.session = session
        self.actor = actor
        self.accounts = AccountService(session)
        self._jobs = jobs

    def _require(self, *, write: bool) -> None:
        actor = self.actor
        if actor is None:
            return  # the admin CLI
        if actor.account is None:
            raise AuthenticationError("You must be authenticated as a site administrator")
        if not actor.is_admin:
            raise PermissionDeniedError("Only site administrators may do this")
        if actor.scopes is not None:
            raise PermissionDeniedError("Fine-grained tokens cannot be used for site administration")
        if write and not actor.may_write_at_all:
            raise PermissionDeniedError("A read token cannot change anything")

    def _not_self(self, account: Account, what: str) -> None:
        if self.actor is not None and self.actor.account is not None and self.actor.account.id == account.id:
            raise InvalidInputError(f"You cannot {what} your own account")

    # --- users and organisations -------------------------------------------------------------

    def list_accounts(self, account_type: AccountType, after: str | None = None, limit: int = 100) -> list[Account]:
        self._require(write=False)
        return self.accounts.list_accounts(account_type, after=after, limit=max(1, min(limit, MAX_PAGE)))

    def get_account(self, name: str, account_type: AccountType) -> Account:
        self._require(write=False)
        if account_type == AccountType.USER:
            return self.accounts.get_user(name)
        return self.accounts.get_org(name)

    def create_user(
        self,
        name: str,
        *,
        password: str | None = None,
        email: str | None = None,
        fullname: str | None = None,
        is_admin: bool = False,
    ) -> Account:
        self._require(write=True)
        return self.accounts.create_user(
            name, password=password, email=email, fullname=fullname, is_admin=is_admin, by=self.actor
        )

    def update_user(self, name: str, *, disabled: bool | None = None, is_admin: bool | None = None) -> Account:
        self._require(write=True)
        user = self.accounts.get_user(name)
        if disabled or is_admin is False:
            self._not_self(user, "disable or demote")
        return self.accounts.update_user(user, disabled=disabled, is_admin=is_admin, by=self.actor)

    def create_org(self, name: str, *, fullname: str | None = None) -> Account:
        self._require(write=True)
        return self.accounts.create_org(name, fullname=fullname, by=self.actor)

    def delete_account(self, name: str, account_type: AccountType) -> None:
        """Delete a user or an organisation that owns no repo (delete or move its repos first)."""
        self._require(write=True)
        account = self.get_account(name, account_type)
        self._not_self(account, "delete")
        owned = self.session.scalar(select(func.count()).select_from(Repo).where(Repo.owner_id == account.id)) or 0
        if owned:
            raise ConflictError(f"{account.name} still owns {owned} repo(s): delete or move them first")
        if account.type == AccountType.USER:
            StatsService(self.session).forget_likes(account)  # the liked repos' counts go down with them
        self.accounts.delete_account(account, by=self.actor)

    def reset_password(self, name: str, password: str) -> int:
        """Set a user's password; every website session of theirs ends (returns how many)."""
        self._require(write=True)
        user = self.accounts.get_user(name)
        self.accounts.set_password(user, password)
        ended = SessionService(self.session).delete_user_sessions(user)
        AuditLog(self.session).record("user.password.reset", self.actor, "user", user.name, sessionsEnded=ended)
        return ended

    # --- members ------------------------------------------------------------------------------

    def list_members(self, org_name: str) -> list[Membership]:
        self._require(write=False)
        return self.accounts.list_members(self.accounts.get_org(org_name))

    def set_member(self, org_name: str, user_name: str, role: OrgRole) -> Membership:
        self._require(write=True)
        org, user = self.accounts.get_org(org_name), self.accounts.get_user(user_name)
        return self.accounts.set_membership(org, user, role, by=self.actor)

    def remove_member(self, org_name: str, user_name: str) -> None:
        self._require(write=True)
        org, user = self.accounts.get_org(org_name), self.accounts.get_user(user_name)
        self.accounts.remove_membership(org, user, by=self.actor)

    # --- tokens -------------------------------------------------------------------------------

    def list_tokens(self, user_name: str) -> list[Token]:
        self._require(write=False)
        return self.accounts.list_tokens(self.accounts.get_user(user_name))

    def create_token(self, user_name: str, name: str, role: TokenRole, fine_grained: Any = None) -> tuple[Token, str]:
        self._require(write=True)
        user = self.accounts.get_user(user_name)
        return self.accounts.create_token(user, name, role, fine_grained, by=self.actor)

    def revoke_token(self, token_id: int) -> Token:
        """Revoke anybody's token."""
        self._require(write=True)
        token = self.session.get(Token, token_id)
        if token is None or token.revoked_at is not None:
            raise TokenNotFoundError(f"No token {token_id}")
        self.accounts.revoke_token(token.user, token.id, by=self.actor)
        return token

    # --- audit log ----------------------------------------------------------------------------

    def list_audit(
        self, *, after: int | None = None, since: datetime | None = None, action: str | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        self._require(write=False)
        return AuditLog(self.session).list_events(after=after, since=since, action=action, limit=limit)

    def prune_audit(self, days: int) -> int:
        """Delete the audit events older than ``days`` days; returns how many."""
        self._require(write=True)
        if days < 1:
            raise InvalidInputError("Audit events are kept at least 1 day")
        return AuditLog(self.session).prune(utcnow() - timedelta(days=days))

    def export_audit(self, *, since: datetime | None = None, action: str | None = None) -> Iterator[AuditEvent]:
        self._require(write=False)
        return AuditLog(self.session).iter_events(since=since, action=action)

    # --- background jobs ----------------------------------------------------------------------------

    @property
    def jobs(self) -> JobQueue:
        if self._jobs is None:
            raise RuntimeError("AdminService was built without the job queue")
        return self._jobs

    def list_jobs(
        self,
        *,
        states: Sequence[JobState] = (),
        kind: str | None = None,
        repo: tuple[RepoType | None, str] | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[Job]:
        """Jobs, newest first; ``repo`` is (type or None for any, "namespace/name")."""
        self._require(write=False)
        repo_ids = None if repo is None else self._repo_ids(*repo)
        query = JobFilter(
            states=states, kind=kind, repo_ids=repo_ids, before=before, limit=max(1, min(limit, MAX_PAGE))
        )
        return self.jobs.list_jobs(self.session, query)

    def _repo_ids(self, repo_type: RepoType | None, repo_id: str) -> list[int]:
        namespace, _, name = repo_id.partition("/")
        query = select(Repo.id).where(Repo.id_key == f"{namespace}/{name}".lower())
        if repo_type is not None:
            query = query.where(Repo.type == repo_type)
        return list(self.session.scalars(query))

    def count_jobs(self) -> dict[JobState, int]:
        self._require(write=False)
        return self.jobs.count_by_state(self.session)

    def get_job(self, job_id: int) -> Job:
        self._require(write=False)
        return self.jobs.get_job(self.session, job_id)

    def cancel_job(self, job_id: int) -> Job:
        self._require(write=True)
        job = self.jobs.cancel(self.session, job_id)
        AuditLog(self.session).record(
            "job.cancel", self.actor, "job", str(job.id), kind=job.kind, state=job.state.value
        )
        return job

    def retry_job(self, job_id: int) -> Job:
        self._require(write=True)
        job = self.jobs.retry(self.session, job_id)
        AuditLog(self.session).record("job.retry", self.actor, "job", str(job.id), kind=job.kind)
        return job

    def job_subjects(self, jobs: Sequence[Job]) -> JobSubjects:
        """The repos and account names ``jobs`` refer to, in two queries."""
        repo_ids = {j.repo_id for j in jobs if j.repo_id is not None}
        account_ids = {j.account_id for j in jobs if j.account_id is not None}
        repos = {r.id: r for r in self.session.scalars(select(Repo).where(Repo.id.in_(repo_ids)))} if repo_ids else {}
        accounts = (
            dict(self.session.execute(select(Account.id, Account.name).where(Account.id.in_(account_ids))).tuples())
            if account_ids
            else {}
        )
        return JobSubjects(repos, accounts)
