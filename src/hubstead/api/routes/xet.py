"""Xet: the hub's token routes, and the CAS the tokens open (xorbs, shards, global dedup, reconstructions,
signed xorb byte ranges). Optional CAS routes that a client probes are all implemented: an unknown one would
have to answer 404, never 405, for the client to fall back."""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from hubstead.accounts.permissions import Actor
from hubstead.api.deps import ActorDep, BaseUrlDep, HubDep, RepoServiceDep, SessionDep
from hubstead.api.limits import BoundedJsonRoute, read_body, read_body_page_aligned, read_json
from hubstead.api.middleware import decode_param
from hubstead.api.ranges import ranged_response
from hubstead.errors import (
    BlobNotFoundError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    XetFormatError,
)
from hubstead.hub import Hub
from hubstead.numbers import parse_decimal
from hubstead.repos.files import FileService
from hubstead.repos.models import Repo, RepoType
from hubstead.repos.services import RepoService
from hubstead.scanning.services import ScanService
from hubstead.xet.services import (
    CasService,
    check_hex,
    check_xorb_range,
    grant_key,
    signed_spans,
    xorb_key,
    xorb_path,
)
from hubstead.xet.tokens import CasGrant
from hubstead.xet.xorb import MAX_XORB_SERIALIZED

router = APIRouter(route_class=BoundedJsonRoute)
CAS_PREFIX = "/api/hubstead/xet"
MAX_SHARD_BYTES = 80 * 1024 * 1024
MAX_TELEMETRY_BYTES = 1024 * 1024
PREFIXES = ("default", "default-merkledb")  # hf_xet sends the first, the spec names the second


async def get_cas_service(session: SessionDep, hub: HubDep) -> CasService:
    return CasService(session, hub.blobs, hub.signer)


CasServiceDep = Annotated[CasService, Depends(get_cas_service)]


def cas_url(base_url: str, hub_settings_url: str | None) -> str:
    return (hub_settings_url or base_url + CAS_PREFIX).rstrip("/")


# --- the hub: tokens -------------------------------------------------------------------------------


def _token_response(grant: CasGrant, token: str, url: str) -> Response:
    headers = {"X-Xet-Cas-Url": url, "X-Xet-Access-Token": token, "X-Xet-Token-Expiration": str(grant.expires)}
    return JSONResponse({"casUrl": url, "accessToken": token, "exp": grant.expires}, headers=headers)


def _issue(repo: Repo, actor: Actor, hub: Hub, base_url: str, *, write: bool) -> Response:
    account_id = actor.account.id if actor.account else None
    grant = hub.cas_tokens.issue(repo.id, repo.uid, write=write, account_id=account_id)
    return _token_response(grant, hub.cas_tokens.encode(grant), cas_url(base_url, hub.settings.xet.cas_url))


@router.get("/api/{repo_type:repotypes}/{namespace}/{name}/xet-read-token/{revision}")
def get_xet_read_token(
    repo_type: RepoType,
    namespace: str,
    name: str,
    revision: str,
    repos: RepoServiceDep,
    actor: ActorDep,
    hub: HubDep,
    base_url: BaseUrlDep,
) -> Response:
    """A CAS token that reads this repo's files: anyone who may download them (anonymous for public repos)."""
    repo = repos.get_repo_for_download(repo_type, f"{namespace}/{name}", actor)
    repos.open_git(repo).resolve(decode_param(revision))  # 404 for a revision that does not exist
    return _issue(repo, actor, hub, base_url, write=False)


@router.get("/api/{repo_type:repotypes}/{namespace}/{name}/xet-write-token/{revision}")
def get_xet_write_token(
    repo_type: RepoType,
    namespace: str,
    name: str,
    revision: str,
    repos: RepoServiceDep,
    actor: ActorDep,
    hub: HubDep,
    base_url: BaseUrlDep,
) -> Response:
    """A CAS token that uploads for this repo: whoever may upload LFS objects to it (writers, and contributors
    for their branches and pull requests; the commit itself checks the branch). ``revision`` may be ``None``
    (the client's spelling when it opens a pull request)."""
    return _issue(
        repos.get_repo_for_contribution(repo_type, f"{namespace}/{name}", actor), actor, hub, base_url, write=True
    )


# --- the CAS ---------------------------------------------------------------------------------------


def _grant(request: Request, hub: Hub, cas: CasService, *, write: bool) -> CasGrant:
    """The caller's token, checked (401/403), for a repo that still exists (401 once it is deleted)."""
    grant = hub.cas_tokens.check(request.headers.get("authorization"), write=write)
    cas.require_repo(grant)
    return grant


def _prefix(prefix: str) -> None:
    if prefix not in PREFIXES:
        raise NotFoundError(f"Unknown CAS prefix {prefix!r}")


@router.post(CAS_PREFIX + "/v1/xorbs/{prefix}/{xorb_hash}")
async def upload_xorb(
    request: Request, prefix: str, xorb_hash: str, hub: HubDep, cas: CasServiceDep
) -> dict[str, bool]:
    await run_in_threadpool(_grant, request, hub, cas, write=True)
    _prefix(prefix)
    check_hex(xorb_hash, "xorb")
    if await run_in_threadpool(cas.has_xorb, xorb_hash):
        await read_body(request, MAX_XORB_SERIALIZED)  # keep the connection in step (with the same cap)
        await run_in_threadpool(cas.touch_xorbs, [xorb_hash])
        return {"was_inserted": False}
    body = await read_body_page_aligned(request, MAX_XORB_SERIALIZED)
    parsed = await run_in_threadpool(cas.check_xorb, xorb_hash, body)
    inserted = await run_in_threadpool(cas.store_xorb, xorb_hash, body, parsed)
    return {"was_inserted": inserted}


@router.api_route(CAS_PREFIX + "/v1/xorbs/{prefix}/{xorb_hash}", methods=["HEAD"])
def head_xorb(request: Request, prefix: str, xorb_hash: str, hub: HubDep, cas: CasServiceDep) -> Response:
    _grant(request, hub, cas, write=False)
    _prefix(prefix)
    check_hex(xorb_hash, "xorb")
    size = cas.xorb_size(xorb_hash)
    if size is None:
        raise NotFoundError(f"Xorb {xorb_hash} not found")
    return Response(headers={"Content-Length": str(size)})


# upload grants: the client asks where to PUT a xorb, PUTs it there without credentials, then commits it


def _grant_upload_path(xorb_hash: str, grant_id: str, length: int, crc: int) -> str:
    return f"{CAS_PREFIX}/grants/{xorb_hash}/{grant_id}/{length}/{crc}"


@router.post(CAS_PREFIX + "/v1/xorb-grants/{prefix}/{xorb_hash}")
async def create_xorb_grant(
    request: Request, prefix: str, xorb_hash: str, hub: HubDep, cas: CasServiceDep, base_url: BaseUrlDep
) -> Response:
    await run_in_threadpool(_grant, request, hub, cas, write=True)
    _prefix(prefix)
    check_hex(xorb_hash, "xorb")
    body = await read_json(request)
    try:
        length = int(body["length"])
        checksum = body.get("checksum") or {}
        crc = int(checksum["value"]) if checksum.get("algo") == "crc64nvme" else -1
    except (ValueError, KeyError, TypeError):
        raise InvalidInputError("A xorb grant needs {'length': n, 'checksum': {'algo', 'value'}}") from None
    if not 0 < length <= MAX_XORB_SERIALIZED:
        raise PayloadTooLargeError(f"A xorb may have at most {MAX_XORB_SERIALIZED} bytes")
    if await run_in_threadpool(cas.has_xorb, xorb_hash):
        await run_in_threadpool(cas.touch_xorbs, [xorb_hash])
        return JSONResponse({"was_inserted": False}, status_code=200)
    grant_id = secrets.token_hex(16)
    url = base_url + hub.signer.sign(_grant_upload_path(xorb_hash, grant_id, length, crc))
    return JSONResponse({"id": grant_id, "method": "PUT", "url": url, "headers": {}}, status_code=201)


@router.put(CAS_PREFIX + "/grants/{xorb_hash}/{grant_id}/{length:int}/{crc}")
async def upload_granted_xorb(
    request: Request, xorb_hash: str, grant_id: str, length: int, crc: str, hub: HubDep, cas: CasServiceDep
) -> Response:
    """The body is checked as a direct upload is (every chunk hashed, the xorb hash recomputed: stronger than the
    grant's CRC, which is therefore not recomputed) and stored at once; the commit that follows confirms it."""
    params = request.query_params
    checksum = -1 if crc == "-1" else parse_decimal(crc, 20)
    if checksum is None:
        raise PermissionDeniedError("This upload URL is not signed")
    hub.signer.verify(
        _grant_upload_path(xorb_hash, grant_id, length, checksum), params.get("expires"), params.get("sig")
    )
    body = await read_body_page_aligned(request, length)
    if len(body) != length:
        raise XetFormatError(f"The xorb has {len(body)} bytes, the grant was for {length}")
    parsed = await run_in_threadpool(cas.check_xorb, xorb_hash, body)
    await run_in_threadpool(cas.store_xorb, xorb_hash, body, parsed)
    await run_in_threadpool(hub.blobs.put, grant_key(xorb_hash, grant_id), b"")  # what the commit looks for
    return Response(status_code=200)


@router.post(CAS_PREFIX + "/v1/xorb-commits/{prefix}/{xorb_hash}/grant/{grant_id}")
async def commit_granted_xorb(
    request: Request, prefix: str, xorb_hash: str, grant_id: str, hub: HubDep, cas: CasServiceDep
) -> dict[str, bool]:
    """404 (the client then asks for a new grant) unless this grant's upload arrived and its xorb is stored."""
    await run_in_threadpool(_grant, request, hub, cas, write=True)
    _prefix(prefix)
    check_hex(xorb_hash, "xorb")
    if not grant_id.isalnum() or len(grant_id) > 64:
        raise NotFoundError("No uploaded data for this grant")
    key = grant_key(xorb_hash, grant_id)
    if not await run_in_threadpool(hub.blobs.exists, key) or not await run_in_threadpool(cas.has_xorb, xorb_hash):
        raise NotFoundError("No uploaded data for this grant")
    await run_in_threadpool(hub.blobs.delete, key)
    await run_in_threadpool(cas.touch_xorbs, [xorb_hash])
    return {"was_inserted": True}


# shards


@router.post(CAS_PREFIX + "/v1/shards")
async def upload_shard(request: Request, hub: HubDep, cas: CasServiceDep) -> dict[str, int]:
    grant = await run_in_threadpool(_grant, request, hub, cas, write=True)
    body = await read_body(request, MAX_SHARD_BYTES)
    new = await run_in_threadpool(cas.register_shard, grant.repo_id, body)
    return {"result": 1 if new else 0}


@router.post(CAS_PREFIX + "/v2/shards")
async def upload_shard_v2(request: Request, hub: HubDep, cas: CasServiceDep) -> Response:
    """The same checks as v1 (refused with a plain 4xx before any frame), then the result as NDJSON frames."""
    grant = await run_in_threadpool(_grant, request, hub, cas, write=True)
    body = await read_body(request, MAX_SHARD_BYTES)
    new = await run_in_threadpool(cas.register_shard, grant.repo_id, body)
    frames = [
        {"type": "validating", "verified": 1, "total": 1},
        {"type": "committing", "stage": "syncing"},
        {"type": "result", "result": 1 if new else 0},
    ]
    return Response("".join(json.dumps(f) + "\n" for f in frames), media_type="application/x-ndjson")


# global deduplication


@router.get(CAS_PREFIX + "/v1/chunks/{prefix}/{chunk_hash}")
def get_dedup_shard(request: Request, prefix: str, chunk_hash: str, hub: HubDep, cas: CasServiceDep) -> Response:
    _grant(request, hub, cas, write=False)
    _prefix(prefix)
    shard = cas.dedup_shard(chunk_hash)
    if shard is None:
        raise NotFoundError(f"Chunk {chunk_hash} is not known")
    return Response(shard, media_type="application/octet-stream")


# reconstructions and xorb bytes


def _reconstruction(request: Request, file_id: str, hub: HubDep, cas: CasService, base_url: str, version: int) -> Any:
    grant = _grant(request, hub, cas, write=False)
    if hub.settings.scanning.block_unsafe_downloads:
        files = FileService(RepoService(cas.session, hub.git, hub.blobs), hub.blobs)
        ScanService(files, hub.settings.scanning).check_xet_download(check_hex(file_id, "file"))
    return cas.reconstruction(grant.repo_id, file_id, request.headers.get("range"), base_url, version)


@router.get(CAS_PREFIX + "/v1/reconstructions/{file_id}")
def get_reconstruction(
    request: Request, file_id: str, hub: HubDep, cas: CasServiceDep, base_url: BaseUrlDep
) -> dict[str, Any]:
    body: dict[str, Any] = _reconstruction(request, file_id, hub, cas, base_url, 1)
    return body


@router.get(CAS_PREFIX + "/v2/reconstructions/{file_id}")
def get_reconstruction_v2(
    request: Request, file_id: str, hub: HubDep, cas: CasServiceDep, base_url: BaseUrlDep
) -> dict[str, Any]:
    body: dict[str, Any] = _reconstruction(request, file_id, hub, cas, base_url, 2)
    return body


@router.get(CAS_PREFIX + "/xorbs/{name}", operation_id="get_xorb_bytes_get")
@router.head(CAS_PREFIX + "/xorbs/{name}", operation_id="get_xorb_bytes_head")
def get_xorb_bytes(request: Request, name: str, hub: HubDep) -> Response:
    """Byte ranges of a stored xorb, for whoever holds a URL a reconstruction signed (``name`` is the xorb
    hash and the upload's nonce, which the signature covers, as it covers the ranges the URL may read)."""
    params = request.query_params
    key = xorb_key(name)
    spans = signed_spans(params.get("ranges"))
    hub.signer.verify(xorb_path(key, spans), params.get("expires"), params.get("sig"))
    check_xorb_range(request.headers.get("range"), spans)
    try:
        size = hub.blobs.size(key)
    except BlobNotFoundError:
        raise NotFoundError(f"Xorb {name} not found") from None
    return ranged_response(request, size, lambda start, end: hub.blobs.read_range(key, start, end))


@router.post("/v1/telemetry")
async def post_telemetry(request: Request) -> Response:
    """hf_xet reports transfer statistics to the CAS's origin (at most 1 MiB); accepted and dropped."""
    await read_body(request, MAX_TELEMETRY_BYTES)
    return Response(status_code=200)
