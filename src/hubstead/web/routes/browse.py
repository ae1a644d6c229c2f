"""Home and search: ``/``, ``/models``, ``/datasets``, ``/spaces`` (``?search=&sort=&pipeline_tag=...``)."""

from __future__ import annotations

from dataclasses import replace

from starlette.responses import HTMLResponse

from hubstead.errors import InvalidInputError
from hubstead.repos.models import RepoType
from hubstead.repos.search import RepoQuery
from hubstead.web.context import WebContext, WebContextDep
from hubstead.web.listing import SORTS, Listing
from hubstead.web.routing import web_router

router = web_router()
HOME_ITEMS = 8


@router.get("/")
def show_home(ctx: WebContextDep) -> HTMLResponse:
    columns = []
    for repo_type, title in ((RepoType.MODEL, "Models"), (RepoType.DATASET, "Datasets"), (RepoType.SPACE, "Spaces")):
        page = ctx.search.list_repos(RepoQuery(repo_type=repo_type, sort="trending", limit=HOME_ITEMS), ctx.actor)
        columns.append((repo_type, title, page.repos))
    return ctx.render("home.html", columns=columns)


def _listing(ctx: WebContext, repo_type: RepoType) -> HTMLResponse:
    listing = Listing.from_params(repo_type, ctx.request.query_params)
    try:
        page = ctx.search.list_repos(listing.query(), ctx.actor)
    except InvalidInputError:  # a stale or edited cursor: start again from the first page
        listing = replace(listing, cursor=None)
        page = ctx.search.list_repos(listing.query(), ctx.actor)
    return ctx.render("list.html", listing=listing, page=page, sorts=SORTS)


@router.get("/models")
def list_models_page(ctx: WebContextDep) -> HTMLResponse:
    return _listing(ctx, RepoType.MODEL)


@router.get("/datasets")
def list_datasets_page(ctx: WebContextDep) -> HTMLResponse:
    return _listing(ctx, RepoType.DATASET)


@router.get("/spaces")
def list_spaces_page(ctx: WebContextDep) -> HTMLResponse:
    return _listing(ctx, RepoType.SPACE)
