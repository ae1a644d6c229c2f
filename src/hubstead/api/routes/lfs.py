"""Git-LFS: the batch API and verify (authenticated as the caller), and the self-authenticating
upload, multipart and download URLs the batch API hands out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from hubstead.api.deps import (
    ActorDep,
    BaseUrlDep,
    HubDep,
    LfsServiceDep,
    RepoServiceDep,
    ScanServiceDep,
    SessionDep,
)
from hubstead.api.limits import BoundedJsonRoute, read_json
from hubstead.api.ranges import ranged_response
from hubstead.errors import BlobNotFoundError, InvalidInputError
from hubstead.hub import Hub
from hubstead.repos.files import FileService
from hubstead.repos.git_access import get_repo_for_git
from hubstead.repos.lfs import LfsService, download_path, upload_path
from hubstead.repos.lfs_pointer import SHA256
from hubstead.repos.models import RepoType
from hubstead.repos.services import RepoService
from hubstead.scanning.services import ScanService

router = APIRouter(route_class=BoundedJsonRoute)
LFS_JSON = "application/vnd.git-lfs+json"
MAX_LFS_JSON = 4 * 1024 * 1024  # a batch of 1,000 objects (our limit; clients send 100 to 500) and their refs


async def _json(request: Request) -> Any:
    return await read_json(request, MAX_LFS_JSON)


def _batch(
    repo_type: RepoType,
    repo_id: str,
    body: Any,
    repos: RepoServiceDep,
    lfs: LfsServiceDep,
    scans: ScanService,
    actor: ActorDep,
    base_url: str,
) -> Response:
    upload = isinstance(body, dict) and body.get("operation") == "upload"
    # anonymous git-lfs: a 401 challenge; contributors may upload objects for commits to their branches
    repo = get_repo_for_git(repos, repo_type, repo_id, actor, write=upload, contribute=upload)
    answer = lfs.batch(repo, actor, body, base_url)
    if not upload:
        answer = scans.refuse_unsafe_lfs_objects(repo.id, answer)
    return JSONResponse(answer, media_type=LFS_JSON)


@router.post("/{namespace}/{name}.git/info/lfs/objects/batch")
async def lfs_batch_model(
    request: Request,
    namespace: str,
    name: str,
    repos: RepoServiceDep,
    lfs: LfsServiceDep,
    scans: ScanServiceDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
) -> Response:
    body = await _json(request)
    repo_id = f"{namespace}/{name}"
    return await run_in_threadpool(_batch, RepoType.MODEL, repo_id, body, repos, lfs, scans, actor, base_url)


@router.post("/{repo_type:repoprefix}/{namespace}/{name}.git/info/lfs/objects/batch")
async def lfs_batch(
    request: Request,
    repo_type: RepoType,
    namespace: str,
    name: str,
    repos: RepoServiceDep,
    lfs: LfsServiceDep,
    scans: ScanServiceDep,
    actor: ActorDep,
    base_url: BaseUrlDep,
) -> Response:
    body = await _json(request)
    repo_id = f"{namespace}/{name}"
    return await run_in_threadpool(_batch, repo_type, repo_id, body, repos, lfs, scans, actor, base_url)


def _verify(
    repo_type: RepoType, repo_id: str, body: Any, repos: RepoServiceDep, lfs: LfsServiceDep, actor: ActorDep
) -> Response:
    repo = get_repo_for_git(repos, repo_type, repo_id, actor, write=False)
    lfs.verify(repo, body)
    return JSONResponse({"message": "ok"}, media_type=LFS_JSON)


@router.post("/{namespace}/{name}.git/info/lfs/objects/verify")
async def lfs_verify_model(
    request: Request, namespace: str, name: str, repos: RepoServiceDep, lfs: LfsServiceDep, actor: ActorDep
) -> Response:
    body = await _json(request)
    return await run_in_threadpool(_verify, RepoType.MODEL, f"{namespace}/{name}", body, repos, lfs, actor)


@router.post("/{repo_type:repoprefix}/{namespace}/{name}.git/info/lfs/objects/verify")
async def lfs_verify(
    request: Request,
    repo_type: RepoType,
    namespace: str,
    name: str,
    repos: RepoServiceDep,
    lfs: LfsServiceDep,
    actor: ActorDep,
) -> Response:
    body = await _json(request)
    return await run_in_threadpool(_verify, repo_type, f"{namespace}/{name}", body, repos, lfs, actor)


def _check_target(lfs: LfsService, repo_pk: int, repo_uid: str, oid: str) -> None:
    if not SHA256.match(oid):
        raise InvalidInputError("Invalid oid")
    lfs.require_repo(repo_pk, repo_uid)


@router.put("/api/hubstead/lfs/upload/{repo_pk:int}/{repo_uid}/{oid}/{size:int}")
async def upload_lfs_object(
    request: Request,
    repo_pk: int,
    repo_uid: str,
    oid: str,
    size: int,
    hub: HubDep,
    session: SessionDep,
    lfs: LfsServiceDep,
) -> Response:
    params = request.query_params
    hub.signer.verify(upload_path(repo_pk, repo_uid, oid, size), params.get("expires"), params.get("sig"))
    await run_in_threadpool(_check_target, lfs, repo_pk, repo_uid, oid)
    await lfs.receive(oid, size, request.stream())
    await run_in_threadpool(_link, hub, session, lfs, repo_pk, oid, size)
    return Response(status_code=200)


def _link(hub: Hub, session: Session, lfs: LfsService, repo_pk: int, oid: str, size: int) -> None:
    """Record the object for the repo, and queue its conversion to Xet in the same unit of work."""
    lfs.link(repo_pk, oid, size)
    hub.convert_to_xet(session, oid, repo_pk)


@router.put("/api/hubstead/lfs/upload/{repo_pk:int}/{repo_uid}/{oid}/{size:int}/part/{part:int}")
async def upload_lfs_part(
    request: Request,
    repo_pk: int,
    repo_uid: str,
    oid: str,
    size: int,
    part: int,
    hub: HubDep,
    session: SessionDep,
    lfs: LfsServiceDep,
) -> Response:
    params = request.query_params
    path = f"{upload_path(repo_pk, repo_uid, oid, size)}/part/{part}"
    hub.signer.verify(path, params.get("expires"), params.get("sig"))
    await run_in_threadpool(_check_target, lfs, repo_pk, repo_uid, oid)
    etag = await lfs.receive_part(repo_pk, oid, part, request.stream())
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})


@router.post("/api/hubstead/lfs/upload/{repo_pk:int}/{repo_uid}/{oid}/{size:int}")
async def complete_lfs_multipart(
    request: Request,
    repo_pk: int,
    repo_uid: str,
    oid: str,
    size: int,
    hub: HubDep,
    session: SessionDep,
    lfs: LfsServiceDep,
) -> Response:
    params = request.query_params
    hub.signer.verify(upload_path(repo_pk, repo_uid, oid, size), params.get("expires"), params.get("sig"))
    body = await _json(request)
    await run_in_threadpool(_check_target, lfs, repo_pk, repo_uid, oid)
    await run_in_threadpool(lfs.complete_multipart, repo_pk, oid, size, body)
    await run_in_threadpool(hub.convert_to_xet, session, oid, repo_pk)  # queued with the object's row
    return JSONResponse({"message": "ok"}, media_type=LFS_JSON)


@router.get("/api/hubstead/lfs/objects/{repo_pk:int}/{repo_uid}/{oid}", operation_id="download_lfs_object_get")
@router.head("/api/hubstead/lfs/objects/{repo_pk:int}/{repo_uid}/{oid}", operation_id="download_lfs_object_head")
def download_lfs_object(
    request: Request, repo_pk: int, repo_uid: str, oid: str, hub: HubDep, session: SessionDep, lfs: LfsServiceDep
) -> Response:
    params = request.query_params
    hub.signer.verify(download_path(oid, repo_pk, repo_uid), params.get("expires"), params.get("sig"))
    if not SHA256.match(oid):
        raise BlobNotFoundError(f"LFS object {oid} not found")
    lfs.require_repo(repo_pk, repo_uid)
    size = lfs.objects.size(repo_pk, oid)
    if size is None or not lfs.objects.available(repo_pk, oid):
        raise BlobNotFoundError(f"LFS object {oid} not found")
    if hub.settings.scanning.block_unsafe_downloads:  # a link handed out before the scan's verdict
        files = FileService(RepoService(session, hub.git, hub.blobs), hub.blobs)
        ScanService(files, hub.settings.scanning).check_lfs_download(repo_pk, oid)
    return ranged_response(
        request, size, lambda start, end: lfs.objects.read(repo_pk, oid, start, end), {"ETag": f'"{oid}"'}
    )
