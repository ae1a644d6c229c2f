"""Files: resolve (download), tree listings and paths-info."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hubstead.accounts.permissions import Actor
from hubstead.api.deps import (
    ActorDep,
    BaseUrlDep,
    DownloadContext,
    FileServiceDep,
    HubDep,
    RepoServiceDep,
    ScanServiceDep,
    base_url_of,
    download_context,
)
from hubstead.api.limits import BoundedJsonRoute, read_json
from hubstead.api.middleware import decode_param
from hubstead.api.payloads import security_file_status, tree_entry
from hubstead.api.ranges import ranged_response
from hubstead.api.routes.xet import cas_url
from hubstead.errors import InvalidInputError
from hubstead.repos.files import RepoEntry, ResolvedFile
from hubstead.repos.models import Repo, RepoType
from hubstead.scanning.services import ScanService

router = APIRouter(route_class=BoundedJsonRoute)
# resolve: the busiest routes, matched before every other router (no other route has "resolve" as a
# namespace's third segment, and the namespace convertor leaves /api/ URLs to the routers that own them)
MAX_PATHS_INFO = 1000
MAX_PATH_FIELD = 16 * 1024  # a path of 1,024 characters, percent-encoded
MAX_PATHS_INFO_BODY = MAX_PATHS_INFO * MAX_PATH_FIELD
MAX_CURSOR_LENGTH = 4096  # a tree page cursor is a path in the repo


def _resolve_headers(commit: str, etag: str, size: int, lfs: bool) -> dict[str, str]:
    headers = {
        "X-Repo-Commit": commit,
        "ETag": f'"{etag}"',
        "Cache-Control": "private, max-age=0, must-revalidate",
    }
    if lfs:
        headers["X-Linked-Etag"] = f'"{etag}"'
        headers["X-Linked-Size"] = str(size)
    return headers


def _resolve(
    request: Request, repo_type: RepoType, repo_id: str, revision: str, path: str, ctx: DownloadContext
) -> Response:
    # gated repos: files need a grant; light: the card and file facts are not needed here
    repo = ctx.repos.get_repo_for_download(repo_type, repo_id, ctx.actor, light=True)
    git, resolved = ctx.files.get_file(repo, decode_param(revision), decode_param(path))
    if request.method == "GET" and ctx.hub.settings.scanning.block_unsafe_downloads:
        # the bytes are refused; a HEAD (metadata only) answers, so that clients get the refusal's message from
        # the GET rather than take a refused HEAD for a network failure (huggingface_hub does)
        ScanService(ctx.files, ctx.hub.settings.scanning).check_download(repo.id, resolved.entry)
    size = resolved.entry.size
    headers = _resolve_headers(resolved.commit, resolved.etag, size, resolved.entry.lfs is not None)
    if resolved.entry.lfs is not None and ctx.hub.settings.xet.enabled:
        headers |= _xet_headers(request, ctx, repo, resolved)
    headers["Content-Disposition"] = f"inline; filename*=UTF-8''{_quote(path.rsplit('/', 1)[-1])}"

    def read(start: int, end: int) -> Iterator[bytes | memoryview]:  # GET only: a HEAD downloads nothing
        if start == 0:
            actor = ctx.actor
            requester = str(actor.account.id) if actor.account else (request.client.host if request.client else "")
            ctx.stats.count_download(
                repo,
                resolved.entry.path,
                lambda p: git.get_entry(resolved.commit, p) is not None,
                requester,
                ctx.hub.recent_requesters,
            )
        return ctx.files.read_bytes(git, resolved, start, end)

    return ranged_response(request, size, read, headers)


def _xet_headers(request: Request, ctx: DownloadContext, repo: Repo, resolved: ResolvedFile) -> dict[str, str]:
    """For a file stored in Xet: its hash and where a client gets a CAS token (the client then downloads only
    the chunks it lacks). Clients that ignore these get the bytes from this same response."""
    known, xet_hash = ctx.hub.recent_xet_hashes.get(repo.id, resolved.etag)
    if not known:
        xet_hash = ctx.files.xet_hashes(repo, [resolved.entry]).get(resolved.etag)
        ctx.hub.recent_xet_hashes.put(repo.id, resolved.etag, xet_hash)
    if xet_hash is None:
        return {}
    base = base_url_of(request, ctx.hub)
    token_url = f"{base}/api/{repo.type.value}s/{repo.repo_id}/xet-read-token/{resolved.commit}"
    cas = cas_url(base, ctx.hub.settings.xet.cas_url)
    return {
        "X-Xet-Hash": xet_hash,
        "Link": f'<{token_url}>; rel="xet-auth", <{cas}/v1/reconstructions/{xet_hash}>; rel="xet-reconstruction-info"',
    }


def _quote(name: str) -> str:
    return quote(name, safe="")


# Plain Starlette routes, not FastAPI's: parameter validation and dependency solving cost more than the rest of
# a HEAD (the path parameters are strings from the URL, and the convertors already made repo_type a RepoType).
# The work runs in one trip to the thread pool, as a sync FastAPI route's does.
async def resolve_model_file(request: Request) -> Response:
    params = request.path_params
    return await _resolve_in_thread(request, RepoType.MODEL, params)


async def resolve_file(request: Request) -> Response:
    params = request.path_params
    return await _resolve_in_thread(request, params["repo_type"], params)


async def _resolve_in_thread(request: Request, repo_type: RepoType, params: dict[str, Any]) -> Response:
    repo_id, revision, path = f"{params['namespace']}/{params['name']}", params["revision"], params["path"]
    async with download_context(request) as ctx:  # committed before the response is sent, as a dependency's
        return await run_in_threadpool(_resolve, request, repo_type, repo_id, revision, path, ctx)


DOWNLOAD_ROUTES = [
    Route("/{namespace:namespace}/{name}/resolve/{revision}/{path:path}", resolve_model_file, methods=["GET", "HEAD"]),
    Route("/{repo_type:repoprefix}/{namespace}/{name}/resolve/{revision}/{path:path}", resolve_file,
          methods=["GET", "HEAD"]),
]  # fmt: skip


def _bool(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def _security(
    scans: ScanService, repo: Repo, sha: str, actor: Actor, entries: list[RepoEntry]
) -> dict[str, dict[str, Any]]:
    """``securityFileStatus`` of the scannable files among ``entries`` (with ``expand``), by path."""
    statuses = scans.file_statuses(repo, sha, entries)
    detailed = bool(statuses) and scans.may_read_files(repo, actor)
    return {path: security_file_status(status, detailed) for path, status in statuses.items()}


def _tree(
    request: Request,
    repo_type: RepoType,
    repo_id: str,
    revision: str,
    path: str,
    repos: RepoServiceDep,
    files: FileServiceDep,
    scans: ScanService,
    actor: ActorDep,
    base_url: str,
    page_size: int,
    xet_enabled: bool,
) -> Response:
    params = request.query_params
    recursive, expand = _bool(params.get("recursive")), _bool(params.get("expand"))
    cursor = params.get("cursor")
    if cursor is not None and ("\x00" in cursor or len(cursor) > MAX_CURSOR_LENGTH):
        raise InvalidInputError("Invalid cursor")
    limit = min(page_size, 50 if expand else page_size)
    repo = repos.get_repo(repo_type, repo_id, actor)
    git, sha, page = files.list_tree(repo, decode_param(revision), decode_param(path), recursive, cursor, limit)
    last = files.last_commits(git, sha, page.entries) if expand else {}
    security = _security(scans, repo, sha, actor, page.entries) if expand else {}
    xet = files.xet_hashes(repo, page.entries) if xet_enabled else {}
    body = [tree_entry(e, last.get(e.path), xet, security.get(e.path)) for e in page.entries]
    headers = {}
    if page.next_cursor is not None:
        query = [(k, v) for k, v in params.multi_items() if k != "cursor"] + [("cursor", page.next_cursor)]
        headers["Link"] = f'<{base_url}{request.url.path}?{urlencode(query)}>; rel="next"'
    return JSONResponse(body, headers=headers)


@router.get("/api/{repo_type:repotypes}/{namespace}/{name}/tree/{revision}")
def list_repo_tree_root(
    request: Request,
    repo_type: RepoType,
    namespace: str,
    name: str,
    revision: str,
    repos: RepoServiceDep,
    files: FileServiceDep,
    scans: ScanServiceDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
    hub: HubDep,
) -> Response:
    return _tree(
        request,
        repo_type,
        f"{namespace}/{name}",
        revision,
        "",
        repos,
        files,
        scans,
        actor,
        base_url,
        hub.settings.tree_page_size,
        hub.settings.xet.enabled,
    )


@router.get("/api/{repo_type:repotypes}/{namespace}/{name}/tree/{revision}/{path:path}")
def list_repo_tree(
    request: Request,
    repo_type: RepoType,
    namespace: str,
    name: str,
    revision: str,
    path: str,
    repos: RepoServiceDep,
    files: FileServiceDep,
    scans: ScanServiceDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
    hub: HubDep,
) -> Response:
    return _tree(
        request,
        repo_type,
        f"{namespace}/{name}",
        revision,
        path,
        repos,
        files,
        scans,
        actor,
        base_url,
        hub.settings.tree_page_size,
        hub.settings.xet.enabled,
    )


async def paths_info_body(request: Request) -> tuple[list[str], bool]:
    """Paths and expand flag, from a form (what huggingface_hub sends) or a JSON body, either of them capped."""
    if request.headers.get("content-type", "").startswith("application/json"):
        data = await read_json(request, MAX_PATHS_INFO_BODY)
        if not isinstance(data, dict):
            raise InvalidInputError("paths-info: expected a JSON object")
        paths, expand = data.get("paths", []), data.get("expand", False)
        if isinstance(paths, str):
            paths = [paths]
    else:
        form = await request.form(max_files=0, max_fields=MAX_PATHS_INFO + 2, max_part_size=MAX_PATH_FIELD)
        paths, expand = [str(v) for v in form.getlist("paths")], _bool(str(form.get("expand", "")))
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths) or len(paths) > MAX_PATHS_INFO:
        raise InvalidInputError(f"paths-info: 'paths' must be a list of at most {MAX_PATHS_INFO} strings")
    return paths, bool(expand)


@router.post("/api/{repo_type:repotypes}/{namespace}/{name}/paths-info/{revision}")
def get_paths_info(
    repo_type: RepoType,
    namespace: str,
    name: str,
    revision: str,
    body: Annotated[tuple[list[str], bool], Depends(paths_info_body)],
    repos: RepoServiceDep,
    files: FileServiceDep,
    scans: ScanServiceDep,
    actor: ActorDep,
    hub: HubDep,
) -> list[dict[str, Any]]:
    paths, expand = body
    repo = repos.get_repo(repo_type, f"{namespace}/{name}", actor)
    git, sha, entries = files.paths_info(repo, decode_param(revision), paths)
    last = files.last_commits(git, sha, entries) if expand else {}
    security = _security(scans, repo, sha, actor, entries) if expand else {}
    xet = files.xet_hashes(repo, entries) if hub.settings.xet.enabled else {}
    return [tree_entry(e, last.get(e.path), xet, security.get(e.path)) for e in entries]
