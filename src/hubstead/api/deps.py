"""Request dependencies: the hub, one unit of work per request, the caller, and the services."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Annotated, TypeVar

from anyio import CancelScope, to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hubstead.accounts.delegation import PREFIX as DELEGATION_PREFIX
from hubstead.accounts.permissions import ANONYMOUS, Actor
from hubstead.accounts.services import TOKEN_USES, AccountService
from hubstead.accounts.sessions import SessionService
from hubstead.db.base import utcnow
from hubstead.discussions.services import DiscussionService
from hubstead.errors import AuthenticationError
from hubstead.hub import Hub
from hubstead.repos.commits import CommitService
from hubstead.repos.files import FileService
from hubstead.repos.lfs import LfsService
from hubstead.repos.models import RepoType
from hubstead.repos.search import SearchService
from hubstead.repos.services import RepoService
from hubstead.repos.stats import StatsService
from hubstead.scanning.services import ScanService

T = TypeVar("T")

SESSION_COOKIE = "hubstead_session"  # the website's sign-in cookie (the same name as in web/context.py)
SAFE_METHODS = frozenset({"GET", "HEAD"})


async def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


async def get_session(hub: HubDep) -> AsyncIterator[Session]:
    """One unit of work: committed when the route returns, before the response is sent.

    Opening a session does no I/O, so it happens on the event loop; the commit (or rollback) and close
    run in one worker thread, and only if the route used the database."""
    async with unit_of_work(hub) as session:
        yield session


@asynccontextmanager
async def unit_of_work(hub: Hub) -> AsyncIterator[Session]:
    """``get_session``, for the routes that take no dependencies (``resolve``)."""
    session = hub.sessions()
    try:
        yield session
    except BaseException:
        with CancelScope(shield=True):
            await _end_session(hub, session, commit=False)
        raise
    with CancelScope(shield=True):
        await _end_session(hub, session, commit=True)


async def _end_session(hub: Hub, session: Session, *, commit: bool) -> None:
    if not (session.in_transaction() or session.new or session.dirty or session.deleted):
        session.close()  # nothing was read or written: no connection to give back
        return
    pending = session.new or session.dirty or session.deleted or session.info.get(TOKEN_USES)
    if pending or _database_transaction_open(session):
        # in threads of its own: a unit of work holding SQLite's write lock must never queue for a thread behind
        # requests that wait for that very lock (they would until their busy timeout, and answer 500)
        await to_thread.run_sync(_finish, session, commit, limiter=hub.commit_limiter)
    else:
        # only read, on SQLite: nothing to commit or roll back (closing hands the connection back, and the pool's
        # reset rolls back nothing); commit() would only add bookkeeping, about a tenth of a HEAD's time
        session.close()


def _database_transaction_open(session: Session) -> bool:
    """Whether the connection holds a transaction in the database itself: SQLite (through Python's sqlite3)
    opens one only to write; other databases open one to read as well."""
    dbapi_connection = session.connection().connection.dbapi_connection
    return bool(getattr(dbapi_connection, "in_transaction", True))


def _finish(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def run_and_commit(session: Session, work: Callable[[], T]) -> T:
    """Run ``work`` in a worker thread and commit the unit of work in that same thread, for routes that write
    under contention (commits). On SQLite the first write takes the database's one write lock until the commit;
    requests waiting for it each hold a worker thread, and when they hold all of them a lock holder that needed
    one more thread to commit (to serialise its answer, or to end its session) would wait for them to time out."""

    def run() -> T:
        result = work()
        session.commit()
        return result

    return await run_in_threadpool(run)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            _, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationError("Invalid credentials in Authorization header") from None
        return password or None
    raise AuthenticationError("Invalid credentials in Authorization header")


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def get_actor(request: Request, session: SessionDep) -> Actor:
    """The caller: from a token (Bearer, or Basic with the token as password), else, on GET and HEAD only,
    from the website's session cookie (so that its pages may link to private files; a cookie never
    authorises a change, which keeps cross-site forms harmless), else anonymous."""
    token = bearer_token(request)
    if token is not None and token.startswith(DELEGATION_PREFIX):
        return await _delegated_actor(request, session, token)
    if token is not None:
        actor = await run_in_threadpool(AccountService(session).actor_for_token, token)
    elif request.method in SAFE_METHODS and SESSION_COOKIE in request.headers.get("cookie", ""):
        secret = request.cookies.get(SESSION_COOKIE)
        if not secret:
            return ANONYMOUS
        actor = await run_in_threadpool(SessionService(session).actor_for_session, secret)
    else:
        return ANONYMOUS  # most downloads: no database work, no trip through the thread pool
    if actor.account is None:
        return actor
    if actor.is_admin:
        request.state.rate_limit_exempt = True  # read by the rate limiter (api/ratelimit.py)
    return replace(actor, ip=client_ip(request))


async def _delegated_actor(request: Request, session: Session, token: str) -> Actor:
    """A compute worker's short-lived token (accounts/delegation.py): the caller it acts for, reading one repo."""
    hub: Hub = request.app.state.hub
    delegation = hub.delegated_tokens.verify(token)
    if not delegation.allows_path(request.method, request.url.path):
        raise AuthenticationError("A delegated token only reads its own repo")
    repos = RepoService(session, hub.git, hub.blobs)
    repo = await run_in_threadpool(repos.find_repo, RepoType(delegation.repo_type), delegation.repo_id, light=True)
    if repo is None or repo.uid != delegation.repo_uid:
        raise AuthenticationError("The repo this delegated token was issued for no longer exists")
    if delegation.account is None:
        return ANONYMOUS
    service = AccountService(session)
    account = await run_in_threadpool(service.find_account, delegation.account)
    if account is None or account.disabled:
        raise AuthenticationError("Invalid credentials in Authorization header")
    actor = await run_in_threadpool(service.actor_for_account, account)
    return replace(actor, token=delegation.token(), scopes=delegation.scopes(), ip=client_ip(request))


ActorDep = Annotated[Actor, Depends(get_actor)]


async def get_repo_service(session: SessionDep, hub: HubDep) -> RepoService:
    return RepoService(session, hub.git, hub.blobs)


RepoServiceDep = Annotated[RepoService, Depends(get_repo_service)]


async def get_lfs_service(session: SessionDep, hub: HubDep) -> LfsService:
    return LfsService(session, hub.blobs, hub.signer, hub.lfs_limits)


LfsServiceDep = Annotated[LfsService, Depends(get_lfs_service)]


async def get_file_service(repos: RepoServiceDep, hub: HubDep) -> FileService:
    return FileService(repos, hub.blobs)


FileServiceDep = Annotated[FileService, Depends(get_file_service)]


async def get_scan_service(files: FileServiceDep, hub: HubDep) -> ScanService:
    return ScanService(files, hub.settings.scanning, hub.jobs)


ScanServiceDep = Annotated[ScanService, Depends(get_scan_service)]


async def get_commit_service(repos: RepoServiceDep, lfs: LfsServiceDep, hub: HubDep) -> CommitService:
    return CommitService(repos, lfs, hub.settings.lfs_size_threshold)


CommitServiceDep = Annotated[CommitService, Depends(get_commit_service)]


async def get_discussion_service(repos: RepoServiceDep) -> DiscussionService:
    return DiscussionService(repos)


DiscussionServiceDep = Annotated[DiscussionService, Depends(get_discussion_service)]


async def get_stats_service(session: SessionDep, hub: HubDep) -> StatsService:
    """Stats, with the 30-day and trending windows rolled forward once a day."""
    service = StatsService(session)
    today = utcnow().date()
    if hub.stats_rolled_on != today:
        await run_in_threadpool(service.roll_windows, today)
        hub.stats_rolled_on = today
    return service


StatsServiceDep = Annotated[StatsService, Depends(get_stats_service)]


@dataclass(frozen=True)
class DownloadContext:
    """What the download routes (``resolve``) need, as one dependency. FastAPI solves the sub-dependencies of
    each dependency again even when its value is cached, so on the hottest route one costs less than five."""

    hub: Hub
    actor: Actor
    repos: RepoService
    files: FileService
    stats: StatsService


async def get_download_context(request: Request, session: SessionDep) -> DownloadContext:
    hub = await get_hub(request)
    repos = RepoService(session, hub.git, hub.blobs)
    return DownloadContext(
        hub=hub,
        actor=await get_actor(request, session),
        repos=repos,
        files=FileService(repos, hub.blobs),
        stats=await get_stats_service(session, hub),
    )


DownloadContextDep = Annotated[DownloadContext, Depends(get_download_context)]


@asynccontextmanager
async def download_context(request: Request) -> AsyncIterator[DownloadContext]:
    """``get_download_context`` without FastAPI's dependency solving, which costs more than the rest of a
    ``HEAD`` of a file: the resolve routes are plain Starlette routes that open this themselves."""
    async with unit_of_work(request.app.state.hub) as session:
        yield await get_download_context(request, session)


async def get_search_service(session: SessionDep, stats: StatsServiceDep) -> SearchService:
    return SearchService(session)


SearchServiceDep = Annotated[SearchService, Depends(get_search_service)]


def base_url_of(request: Request, hub: Hub) -> str:
    """The address clients reach us at: configured, else this request's own scheme and host."""
    if hub.settings.public_url:
        return hub.settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


async def get_base_url(request: Request, hub: HubDep) -> str:
    return base_url_of(request, hub)


BaseUrlDep = Annotated[str, Depends(get_base_url)]
