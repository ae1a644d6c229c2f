"""Publishing from the browser: create a repo (``/new``), upload files and edit files (each one commit), and
the repo's settings (visibility, rename or move, delete with confirmation)."""

from __future__ import annotations

import posixpath

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, Response

from hubstead.accounts.models import OrgRole
from hubstead.api.middleware import decode_param
from hubstead.errors import AuthenticationError, HubsteadError, InvalidInputError
from hubstead.repos.models import Repo, RepoType
from hubstead.repos.services import SPACE_SDKS, RepoSettings
from hubstead.web.context import WebContext, WebContextDep
from hubstead.web.repo_page import get_repo_for_files, page_context
from hubstead.web.repo_view import read_text
from hubstead.web.routes.files import breadcrumbs
from hubstead.web.routing import RepoTypeDep, repo_route, web_router
from hubstead.web.site import repo_path, rev_path
from hubstead.web.uploads import NewFile, commit_files

router = web_router()
WRITE_ROLES = frozenset({OrgRole.WRITE, OrgRole.ADMIN})
NEW_CARD = """---
license: apache-2.0
---

# {name}

Describe what this {kind} is, how it was made, and how to use it.
"""


def _owners(ctx: WebContext) -> list[str]:
    """Namespaces the signed-in user may create repos in: their own, then orgs where they may write."""
    assert ctx.user is not None
    orgs = sorted(m.org.name for m in ctx.accounts.list_memberships(ctx.user) if m.role in WRITE_ROLES)
    return [ctx.user.name, *orgs]


def _new_page(ctx: WebContext, status: int = 200, error: str | None = None) -> HTMLResponse:
    kind = ctx.field("type") or ctx.request.query_params.get("type", "model")
    return ctx.render(
        "publish/new.html",
        status=status,
        owners=_owners(ctx),
        error=error,
        kind=kind if kind in {t.value for t in RepoType} else "model",
        form={k: ctx.field(k) for k in ("owner", "name", "visibility", "sdk")},
        sdks=sorted(SPACE_SDKS),
    )


@router.get("/new")
def show_new_repo(ctx: WebContextDep) -> Response:
    if ctx.user is None:
        return ctx.redirect("/login?next=/new")
    return _new_page(ctx)


@router.post("/new")
def create_repo_page(ctx: WebContextDep) -> Response:
    if ctx.user is None:
        raise AuthenticationError("Sign in to create a repository")
    kind = ctx.field("type", "model")
    if kind not in {t.value for t in RepoType}:
        raise InvalidInputError("A repository is a model, a dataset or a Space")
    repo_type = RepoType(kind)
    try:
        repo = ctx.repos.create_repo(
            ctx.actor,
            repo_type,
            ctx.field("name").strip(),
            namespace=ctx.field("owner") or None,
            private=ctx.field("visibility") == "private",
            sdk=(ctx.field("sdk") or "gradio") if repo_type is RepoType.SPACE else None,
        )
    except HubsteadError as exc:
        return _new_page(ctx, status=400, error=exc.message)
    return ctx.redirect(repo_path(repo.type, repo.repo_id))


# --- uploads and edits ----------------------------------------------------------------------------


@repo_route(router, "/upload/{revision}")
def show_upload(ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str, revision: str) -> HTMLResponse:
    repo = ctx.repos.get_repo_for_write(kind, f"{namespace}/{name}", ctx.actor)
    folder = ctx.request.query_params.get("path", "").strip("/")
    return ctx.render(
        "publish/upload.html", **page_context(ctx, repo, "files"), revision=decode_param(revision), folder=folder
    )


@repo_route(router, "/upload/{revision}", methods=("POST",))
async def upload_files(ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str, revision: str) -> Response:
    repo = await run_in_threadpool(ctx.repos.get_repo_for_write, kind, f"{namespace}/{name}", ctx.actor)
    branch = decode_param(revision)
    folder = ctx.field("path").strip().strip("/")
    uploads = [f for f in ctx.form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    files = [NewFile(posixpath.join(folder, _base_name(u.filename or "")), u) for u in uploads]
    names = ", ".join(f.path for f in files[:3]) + (" and more" if len(files) > 3 else "")
    summary = ctx.field("summary").strip() or f"Upload {names}"
    await commit_files(ctx, repo, branch, files, summary, ctx.field("description"))
    target = f"/tree/{rev_path(branch)}" + (f"/{folder}" if folder else "")
    return ctx.redirect(repo_path(repo.type, repo.repo_id) + target)


def _base_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if not name or name in (".", ".."):
        raise InvalidInputError(f"Invalid file name {filename!r}")
    return name


@repo_route(router, "/edit/{revision}/{path:path}")
def show_edit(
    ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str, revision: str, path: str
) -> HTMLResponse:
    repo_id = f"{namespace}/{name}"
    ctx.repos.get_repo_for_write(kind, repo_id, ctx.actor)
    repo = get_repo_for_files(ctx, kind, repo_id)  # the editor shows the file's text (writers pass the gate)
    revision, path = decode_param(revision), decode_param(path)
    git, sha = ctx.files.resolve(repo, revision)
    current = read_text(git, sha, path)
    if current is None and git.get_entry(sha, path) is not None:
        raise InvalidInputError(f"{path} is too large or not text: upload a new version instead")
    text = (
        current[0]
        if current
        else (NEW_CARD.format(name=repo.name, kind=repo.type.value) if path == "README.md" else "")
    )
    return ctx.render(
        "publish/edit.html",
        **page_context(ctx, repo, "card" if path == "README.md" else "files"),
        revision=revision,
        file_path=path,
        crumbs=breadcrumbs(path),
        text=text,
        parent=sha,
        exists=current is not None,
    )


@repo_route(router, "/edit/{revision}/{path:path}", methods=("POST",))
async def save_edit(
    ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str, revision: str, path: str
) -> Response:
    repo = await run_in_threadpool(ctx.repos.get_repo_for_write, kind, f"{namespace}/{name}", ctx.actor)
    branch, path = decode_param(revision), decode_param(path)
    content = ctx.field("content").replace("\r\n", "\n").encode()
    summary = ctx.field("summary").strip() or f"Update {path}"
    parent = ctx.field("parent") or None
    await commit_files(ctx, repo, branch, [NewFile(path, content)], summary, ctx.field("description"), parent)
    where = "" if path == "README.md" else f"/blob/{rev_path(branch)}/{path}"
    return ctx.redirect(repo_path(repo.type, repo.repo_id) + where)


# --- settings -------------------------------------------------------------------------------------


def _settings_page(ctx: WebContext, repo: Repo, status: int = 200, error: str | None = None) -> HTMLResponse:
    return ctx.render(
        "publish/settings.html", status=status, **page_context(ctx, repo, "settings"), owners=_owners(ctx), error=error
    )


@repo_route(router, "/settings")
def show_settings(ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str) -> HTMLResponse:
    repo = ctx.repos.get_repo_for_write(kind, f"{namespace}/{name}", ctx.actor)
    return _settings_page(ctx, repo)


@repo_route(router, "/settings", methods=("POST",))
def update_settings_page(ctx: WebContextDep, kind: RepoTypeDep, namespace: str, name: str) -> Response:
    repo_id = f"{namespace}/{name}"
    repo = ctx.repos.get_repo_for_write(kind, repo_id, ctx.actor)
    action = ctx.field("action")
    if action == "visibility":
        ctx.repos.update_settings(ctx.actor, kind, repo_id, RepoSettings(private=ctx.field("visibility") == "private"))
        return ctx.redirect(repo_path(kind, repo.repo_id) + "/settings")
    if action == "move":
        target = f"{ctx.field('owner') or repo.namespace}/{ctx.field('new_name').strip()}"
        try:
            moved = ctx.repos.move_repo(ctx.actor, kind, repo_id, target)
        except HubsteadError as exc:
            return _settings_page(ctx, repo, status=400, error=exc.message)
        return ctx.redirect(repo_path(kind, moved.repo_id))
    if action == "delete":
        if ctx.field("confirm").strip() != repo.repo_id:
            return _settings_page(ctx, repo, status=400, error=f"Type {repo.repo_id} to confirm the deletion")
        owner = repo.namespace
        ctx.repos.delete_repo(ctx.actor, kind, repo_id)
        return ctx.redirect(f"/{owner}")
    raise InvalidInputError("Unknown settings action")
