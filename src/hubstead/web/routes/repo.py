"""A repo's page: its card (public even when the repo is gated, with the gate's panel above it), the metadata
panel, snippets to use it, the like button, and the gate's form to ask for access."""

from __future__ import annotations

from starlette.responses import HTMLResponse, JSONResponse, Response

from hubstead.datasets.services import ViewerService
from hubstead.errors import AuthenticationError
from hubstead.repos.cards import split_front_matter
from hubstead.repos.models import RepoType
from hubstead.repos.services import DEFAULT_BRANCH
from hubstead.web.context import WebContextDep
from hubstead.web.inference_view import deploy_snippets, widget_for
from hubstead.web.markdown import LinkBase
from hubstead.web.repo_page import asked_fields, page_context
from hubstead.web.repo_view import README, read_text, side_panel, snippets
from hubstead.web.routes.accounts import safe_next
from hubstead.web.routing import RepoTypeDep, repo_route, web_router
from hubstead.web.site import repo_path

router = web_router()


@repo_route(router)
def show_repo(ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str) -> HTMLResponse:
    repo = ctx.repos.get_repo(kind, f"{namespace}/{name}", ctx.actor)
    git, sha = ctx.files.resolve(repo, DEFAULT_BRANCH)
    readme = read_text(git, sha, README)
    card_html = None
    if readme is not None:
        _, body = split_front_matter(readme[0])
        base = LinkBase(repo_path(repo.type, repo.repo_id), DEFAULT_BRANCH)
        card_html = ctx.site.markdown.render(body, base, cache_key=readme[1])
    size, file_count = ctx.site.sizes.get(ctx.files, git, sha)
    viewer = None
    if repo.type is RepoType.DATASET and ctx.repos.may_download(repo, ctx.actor):
        viewer = ViewerService(ctx.repos, ctx.hub.settings, ctx.hub.jobs).status(repo)
    return ctx.render(
        "repo/card.html",
        **page_context(ctx, repo, "card"),
        card_html=card_html,
        panel=side_panel(repo),
        snippets=snippets(repo, ctx.base_url),
        widget=widget_for(repo, ctx.hub.settings.inference.enabled, ctx.stats.inference_calls(repo)),
        deploy=deploy_snippets(repo, ctx.base_url),
        size=size,
        file_count=file_count,
        commit=git.commit_meta(sha),
        viewer=viewer,
    )


@repo_route(router, "/like", methods=("POST",))
def toggle_like(ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str) -> Response:
    """Like or unlike (``like=1``/``like=0``); answers JSON to the page's script, a redirect to a plain form."""
    repo = ctx.repos.get_repo(kind, f"{namespace}/{name}", ctx.actor)
    if ctx.user is None:
        raise AuthenticationError("Sign in to like a repository")
    if ctx.field("like", "1") == "0":
        ctx.stats.unlike(ctx.user, repo)
    else:
        ctx.stats.like(ctx.user, repo)
    if "application/json" in ctx.request.headers.get("accept", ""):
        return JSONResponse({"likes": repo.likes, "liked": ctx.field("like", "1") != "0"})
    return ctx.redirect(repo_path(repo.type, repo.repo_id))


@repo_route(router, "/ask-access", methods=("POST",))
def ask_access_page(ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str) -> Response:
    """The gate's form: ask for the files of a gated repo (given at once by an ``auto`` gate), then back to the
    page that showed the gate."""
    repo_id = f"{namespace}/{name}"
    repo = ctx.repos.get_repo(kind, repo_id, ctx.actor)
    if ctx.user is None:
        raise AuthenticationError("Sign in to ask for access")
    ctx.access_requests.ask_access(ctx.actor, kind, repo_id, asked_fields(repo, ctx.form))
    target = ctx.field("next")
    return ctx.redirect(safe_next(target) if target else repo_path(repo.type, repo.repo_id))
