"""Files and versions: the tree at any branch, tag or commit, one file, its raw text, the history, one commit
and its diff.

The tree and the history are metadata, readable by whoever may read the repo; a file's page, its raw text and
a commit's diff are file content: of a gated repo, only for those ``resolve`` would serve (``get_repo_for_files``)."""

from __future__ import annotations

import posixpath
from typing import Any

from starlette.responses import HTMLResponse, Response

from hubstead.api.middleware import decode_param
from hubstead.datasets.preview import preview_table, previewable
from hubstead.errors import InvalidInputError
from hubstead.repos.models import Repo
from hubstead.web.context import WebContext, WebContextDep
from hubstead.web.highlight import highlight_lines
from hubstead.web.repo_page import get_repo_for_files, page_context
from hubstead.web.routing import RepoTypeDep, repo_route, web_router

router = web_router()
MAX_VIEW_BYTES = 1024 * 1024
COMMITS_PAGE = 50
TREE_PAGE = 500
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".svg", ".ico")


def breadcrumbs(path: str) -> list[tuple[str, str]]:
    """(name, path up to it) of each folder in ``path``."""
    parts = [p for p in path.split("/") if p]
    return [(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)]


def _refs_context(ctx: WebContext, repo: Repo, revision: str) -> dict[str, Any]:
    refs = ctx.files.list_refs(repo)
    return {"revision": revision, "branches": sorted(refs.branches), "tags": sorted(refs.tags)}


def _tree(ctx: WebContext, kind: RepoTypeDep, repo_id: str, revision: str, path: str) -> HTMLResponse:
    repo = ctx.repos.get_repo(kind, repo_id, ctx.actor)
    revision, path = decode_param(revision), decode_param(path).strip("/")
    cursor = ctx.request.query_params.get("cursor") or None
    if cursor is not None and ("\x00" in cursor or len(cursor) > 4096):
        raise InvalidInputError("Invalid cursor")
    git, sha, page = ctx.files.list_tree(repo, revision, path, False, cursor, TREE_PAGE)
    entries = sorted(page.entries, key=lambda e: (e.entry.type != "directory", e.path.lower()))
    scans = ctx.scans.file_statuses(repo, sha, entries)
    return ctx.render(
        "repo/tree.html",
        **page_context(ctx, repo, "files"),
        **_refs_context(ctx, repo, revision),
        folder=path,
        crumbs=breadcrumbs(path),
        entries=entries,
        scans=scans,
        next_cursor=page.next_cursor,
        commit=git.commit_meta(sha),
        sha=sha,
    )


@repo_route(router, "/tree/{revision}")
def show_tree_root(ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str, revision: str) -> HTMLResponse:
    return _tree(ctx, kind, f"{namespace}/{name}", revision, "")


@repo_route(router, "/tree/{revision}/{path:path}")
def show_tree(
    ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str, revision: str, path: str
) -> HTMLResponse:
    return _tree(ctx, kind, f"{namespace}/{name}", revision, path)


@repo_route(router, "/blob/{revision}/{path:path}")
def show_file(
    ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str, revision: str, path: str
) -> HTMLResponse:
    repo = get_repo_for_files(ctx, kind, f"{namespace}/{name}")
    revision, path = decode_param(revision), decode_param(path)
    git, file = ctx.files.get_file(repo, revision, path)
    scan = ctx.scans.file_statuses(repo, file.commit, [file.entry]).get(file.entry.path)
    blocked = scan is not None and scan.status == "unsafe" and ctx.hub.settings.scanning.block_unsafe_downloads
    lines: list[str] | None = None
    binary = False
    if file.entry.lfs is None and file.entry.size <= MAX_VIEW_BYTES and not blocked:
        data = git.read_blob(file.entry.entry.oid)
        binary = b"\x00" in data[:8000]
        if not binary:
            try:
                lines = highlight_lines(path, data.decode("utf-8"))
            except UnicodeDecodeError:
                binary = True
    folder = posixpath.dirname(path)
    table = None
    if not blocked and previewable(path, file.entry.size):  # CSV, TSV, JSON lines, parquet: a table too
        end = file.entry.size if path.lower().endswith(".parquet") else min(file.entry.size, MAX_VIEW_BYTES)
        table = preview_table(path, b"".join(bytes(p) for p in ctx.files.read_bytes(git, file, 0, end)))
    return ctx.render(
        "repo/blob.html",
        table=table,
        **page_context(ctx, repo, "files"),
        **_refs_context(ctx, repo, revision),
        file=file,
        file_path=path,
        folder=folder,
        crumbs=breadcrumbs(path),
        lines=lines,
        binary=binary,
        too_large=file.entry.lfs is None and file.entry.size > MAX_VIEW_BYTES,
        is_image=path.lower().endswith(IMAGE_SUFFIXES),
        commit=git.commit_meta(file.commit),
        scan=scan,
        blocked=blocked,
        show_imports=scan is not None and bool(scan.imports) and ctx.scans.may_read_files(repo, ctx.actor),
    )


@repo_route(router, "/raw/{revision}/{path:path}")
def show_raw_file(
    ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str, revision: str, path: str
) -> Response:
    """The file as git stores it (an LFS file's pointer), as plain text that no browser runs."""
    repo = get_repo_for_files(ctx, kind, f"{namespace}/{name}")
    git, file = ctx.files.get_file(repo, decode_param(revision), decode_param(path))
    if file.entry.lfs is None:  # the bytes themselves (an LFS file's raw text is only its pointer)
        ctx.scans.check_download(repo.id, file.entry)
    if file.entry.entry.size > 10 * MAX_VIEW_BYTES:
        raise InvalidInputError("This file is too large to show raw: download it instead")
    data = git.read_blob(file.entry.entry.oid)
    headers = {
        "X-Repo-Commit": file.commit,
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=0, must-revalidate",
    }
    return Response(data, media_type="text/plain; charset=utf-8", headers=headers)


@repo_route(router, "/commits/{revision}")
def list_commits_page(ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str, revision: str) -> HTMLResponse:
    repo = ctx.repos.get_repo(kind, f"{namespace}/{name}", ctx.actor)
    revision = decode_param(revision)
    page_text = ctx.request.query_params.get("p", "0")
    page = int(page_text) if page_text.isdigit() and len(page_text) < 7 else 0
    commits, total = ctx.files.list_commits(repo, revision, page * COMMITS_PAGE, COMMITS_PAGE)
    return ctx.render(
        "repo/commits.html",
        **page_context(ctx, repo, "files"),
        **_refs_context(ctx, repo, revision),
        commits=commits,
        total=total,
        page=page,
        has_next=(page + 1) * COMMITS_PAGE < total,
    )


@repo_route(router, "/commit/{sha}")
def show_commit(ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str, sha: str) -> HTMLResponse:
    repo = get_repo_for_files(ctx, kind, f"{namespace}/{name}")  # the diff shows the files' lines
    commit, diffs = ctx.files.get_commit(repo, decode_param(sha))
    return ctx.render(
        "repo/commit.html",
        **page_context(ctx, repo, "files"),
        commit=commit,
        diffs=diffs,
        additions=sum(d.additions for d in diffs),
        deletions=sum(d.deletions for d in diffs),
    )
