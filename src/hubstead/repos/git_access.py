"""Which repo a git or git-lfs client may reach, answered the way huggingface.co answers them."""

from __future__ import annotations

from hubstead.accounts.permissions import Actor
from hubstead.errors import AuthenticationError, CredentialsRequiredError, RepoNotFoundError
from hubstead.repos.models import Repo, RepoType
from hubstead.repos.services import RepoService


def get_repo_for_git(
    repos: RepoService, repo_type: RepoType, repo_id: str, actor: Actor, *, write: bool, contribute: bool = False
) -> Repo:
    """The repo, if ``actor`` may read its files (and write to it, with ``write``; with ``contribute`` too,
    contributor access is enough: LFS uploads for commits to other branches than the default one).

    Reading the files of a gated repo needs an accepted access request (see RepoService.get_repo_for_download).

    git and git-lfs send credentials only after a 401 that asks for them, so an anonymous caller who is refused
    gets CredentialsRequiredError, for a missing and a private repo alike (both say "Repository not found").
    An authenticated caller who may not read gets RepoNotFoundError, one who may read but not write
    PermissionDeniedError: a private repo still looks exactly like a missing one."""
    try:
        if write and contribute:
            return repos.get_repo_for_contribution(repo_type, repo_id, actor)
        if write:
            return repos.get_repo_for_write(repo_type, repo_id, actor)
        return repos.get_repo_for_download(repo_type, repo_id, actor)
    except (RepoNotFoundError, AuthenticationError) as exc:
        if actor.is_anonymous:
            raise CredentialsRequiredError(exc.message, code=exc.code) from None
        raise
