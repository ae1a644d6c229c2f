"""Request dependencies: the hub, one unit of work per request, the caller, and the services."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from hubstead.accounts.permissions import Actor
from hubstead.accounts.services import AccountService
from hubstead.db.base import utcnow
from hubstead.errors import AuthenticationError
from hubstead.hub import Hub
from hubstead.repos.commits import CommitService
from hubstead.repos.files import FileService
from hubstead.repos.lfs import LfsService
from hubstead.repos.search import SearchService
from hubstead.repos.services import RepoService
from hubstead.repos.stats import StatsService


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


def get_session(hub: HubDep) -> Iterator[Session]:
    """One unit of work: committed when the route returns, before the response is sent."""
    session = hub.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


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


def get_actor(request: Request, session: SessionDep) -> Actor:
    return AccountService(session).actor_for_token(bearer_token(request))


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_repo_service(session: SessionDep, hub: HubDep) -> RepoService:
    return RepoService(session, hub.git, hub.blobs)


RepoServiceDep = Annotated[RepoService, Depends(get_repo_service)]


def get_lfs_service(session: SessionDep, hub: HubDep) -> LfsService:
    return LfsService(session, hub.blobs, hub.signer, hub.lfs_limits)


LfsServiceDep = Annotated[LfsService, Depends(get_lfs_service)]


def get_file_service(repos: RepoServiceDep, hub: HubDep) -> FileService:
    return FileService(repos, hub.blobs)


FileServiceDep = Annotated[FileService, Depends(get_file_service)]


def get_commit_service(repos: RepoServiceDep, lfs: LfsServiceDep, hub: HubDep) -> CommitService:
    return CommitService(repos, lfs, hub.settings.lfs_size_threshold)


CommitServiceDep = Annotated[CommitService, Depends(get_commit_service)]


def get_stats_service(session: SessionDep, hub: HubDep) -> StatsService:
    """Stats, with the 30-day and trending windows rolled forward once a day."""
    service = StatsService(session)
    today = utcnow().date()
    if hub.stats_rolled_on != today:
        service.roll_windows(today)
        hub.stats_rolled_on = today
    return service


StatsServiceDep = Annotated[StatsService, Depends(get_stats_service)]


def get_search_service(session: SessionDep, stats: StatsServiceDep) -> SearchService:
    return SearchService(session)


SearchServiceDep = Annotated[SearchService, Depends(get_search_service)]


def get_base_url(request: Request, hub: HubDep) -> str:
    """The address clients reach us at: configured, else this request's own scheme and host."""
    if hub.settings.public_url:
        return hub.settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


BaseUrlDep = Annotated[str, Depends(get_base_url)]
