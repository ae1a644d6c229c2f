"""Likes: like and unlike a repo, who liked it, what a user liked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hubstead.accounts.permissions import Actor
from hubstead.accounts.services import AccountService
from hubstead.api.deps import ActorDep, RepoServiceDep, SessionDep, StatsServiceDep
from hubstead.api.limits import BoundedJsonRoute
from hubstead.api.payloads import iso
from hubstead.errors import AuthenticationError, PermissionDeniedError
from hubstead.repos.models import RepoType
from hubstead.repos.services import access_to

router = APIRouter(route_class=BoundedJsonRoute)


def _require_liker(actor: Actor, verb: str) -> None:
    """A like is a write to the account: a read token may not (as on huggingface.co)."""
    if actor.account is None:
        raise AuthenticationError(f"You must be authenticated to {verb} a repository")
    if not actor.may_write_at_all:
        raise PermissionDeniedError(f"A read-only token cannot {verb} a repository: use a write token")


@router.post("/api/{repo_type:repotypes}/{namespace}/{name}/like")
def like_repo(
    repo_type: RepoType, namespace: str, name: str, repos: RepoServiceDep, stats: StatsServiceDep, actor: ActorDep
) -> dict[str, Any]:
    repo = repos.get_repo(repo_type, f"{namespace}/{name}", actor)
    _require_liker(actor, "like")
    assert actor.account is not None
    stats.like(actor.account, repo)
    return {"likes": repo.likes}


@router.delete("/api/{repo_type:repotypes}/{namespace}/{name}/like")
def unlike_repo(
    repo_type: RepoType, namespace: str, name: str, repos: RepoServiceDep, stats: StatsServiceDep, actor: ActorDep
) -> dict[str, Any]:
    repo = repos.get_repo(repo_type, f"{namespace}/{name}", actor)
    _require_liker(actor, "unlike")
    assert actor.account is not None
    stats.unlike(actor.account, repo)
    return {"likes": repo.likes}


@router.get("/api/{repo_type:repotypes}/{namespace}/{name}/likers")
def list_repo_likers(
    repo_type: RepoType, namespace: str, name: str, repos: RepoServiceDep, stats: StatsServiceDep, actor: ActorDep
) -> list[dict[str, Any]]:
    repo = repos.get_repo(repo_type, f"{namespace}/{name}", actor)
    return [{"user": u.name, "fullname": u.fullname, "type": "user", "avatarUrl": ""} for u in stats.list_likers(repo)]


@router.get("/api/users/{username}/likes")
def list_liked_repos(
    username: str, session: SessionDep, stats: StatsServiceDep, actor: ActorDep
) -> list[dict[str, Any]]:
    user = AccountService(session).get_user(username)
    return [
        {"createdAt": iso(like.created_at), "repo": {"name": repo.repo_id, "type": repo.type.value}}
        for like, repo in stats.list_likes(user)
        if access_to(actor, repo).read
    ]
