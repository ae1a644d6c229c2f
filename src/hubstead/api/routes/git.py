"""git over HTTP: smart-HTTP clone, fetch, pull and push at ``/{ns}/{name}[.git]``, ``/datasets/...`` and
``/spaces/...``, served by the installed git (``upload-pack`` / ``receive-pack --stateless-rpc``), and the
git-lfs locks API, answered "not implemented" so that git-lfs turns lock verification off and pushes on.

Who may do what is decided before git starts (see ``repos/git_access.py``); what a push may change is decided
by ``repos/push.py`` from git's receive hooks, each in its own unit of work, while the push streams.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from hubstead.accounts.permissions import Actor
from hubstead.api.deps import ActorDep, HubDep, RepoServiceDep
from hubstead.api.errors import error_response
from hubstead.api.limits import BoundedJsonRoute
from hubstead.datasets.tasks import request_conversion
from hubstead.discussions.services import DiscussionService, may_discuss
from hubstead.errors import HubsteadError, InvalidInputError, RepoNotFoundError
from hubstead.gitstore.hooks import HookHandler, HookVerdict, IncomingObjects, RefUpdate, hook_channel
from hubstead.gitstore.transport import GitService, ServiceResult, run_service
from hubstead.hub import Hub
from hubstead.repos.files import FileService
from hubstead.repos.git_access import get_repo_for_git
from hubstead.repos.models import Repo, RepoType
from hubstead.repos.push import Pusher, PushService
from hubstead.repos.services import RepoService, access_to, ref_of
from hubstead.scanning.services import ScanService

log = logging.getLogger("hubstead.api.git")
router = APIRouter(route_class=BoundedJsonRoute)

NO_CACHE = {
    "Cache-Control": "no-cache, max-age=0, must-revalidate",
    "Pragma": "no-cache",
    "Expires": "Fri, 01 Jan 1980 00:00:00 GMT",
}
GZIP = frozenset({"gzip", "x-gzip"})
INFLATE_CHUNK = 64 * 1024
# git gzips only fetch negotiations (wants and haves; git's own http-backend buffers at most 10 MB of a request),
# never pushes: a gzipped body inflating past this is a bomb
MAX_INFLATED_BODY = 64 * 1024 * 1024
LFS_JSON = "application/vnd.git-lfs+json"


@dataclass
class GitRun:
    """One run of a git service for one HTTP request."""

    service: GitService
    argv: list[str]
    env: dict[str, str]
    header: bytes = b""  # written before git's own output
    takes_body: bool = False
    gzip: bool = False
    hooks: HookHandler | None = None
    repo_path: Path | None = None  # where the hooks may find the pushed objects


class GitServiceResponse(Response):
    """Streams a git service: the request body (inflated if gzipped) into git's stdin, git's stdout out.

    Reads the request body itself (a StreamingResponse would race it for ``receive``). The status goes out
    with git's first byte, so a git that fails before writing anything becomes a 500 (or 400: bad gzip)."""

    def __init__(self, run: GitRun, media_type: str) -> None:
        self.run = run
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers(NO_CACHE)  # no ``body`` attribute: no Content-Length, the response is streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        run = self.run
        state = _StreamState()

        async def write(chunk: bytes) -> None:
            if not state.started:
                state.started = True
                await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        body = _request_body(receive, run.gzip, state) if run.takes_body else None
        if body is None:
            state.body_done.set()
        async with AsyncExitStack() as stack:
            if body is not None:
                stack.push_async_callback(body.aclose)  # git may stop reading early: end the body's reader now
            env = dict(run.env)
            if run.hooks is not None and run.repo_path is not None:
                env |= await stack.enter_async_context(hook_channel(run.repo_path, run.hooks))
            async with anyio.create_task_group() as tasks:
                if run.service is GitService.UPLOAD_PACK:
                    # a clone nobody waits for is not worth finishing; a push always runs to its end, so
                    # that it lands (refs and database together) or not at all
                    tasks.start_soon(_cancel_on_disconnect, receive, state, tasks.cancel_scope)
                if run.header:
                    await write(run.header)
                state.result = await run_service(run.argv, env, body, write)
                tasks.cancel_scope.cancel()
        await self._finish(scope, receive, send, state)

    async def _finish(self, scope: Scope, receive: Receive, send: Send, state: _StreamState) -> None:
        result = state.result
        if result is None:
            return  # the client went away and git was stopped
        if result.returncode != 0:
            log.warning(
                "git %s exited with %s: %s",
                self.run.service.command,
                result.returncode,
                result.stderr.decode("utf-8", "replace").strip()[-2000:],
            )
        if state.started:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif state.bad_body:
            await error_response(400, "The request body is not valid gzip")(scope, receive, send)
        elif state.too_large:
            message = f"The request body inflates to more than the {MAX_INFLATED_BODY} bytes allowed"
            await error_response(413, message)(scope, receive, send)
        elif result.returncode != 0 and b"protocol error" in result.stderr:
            # git read something that is not its protocol: the caller's mistake, in git's own words
            reason = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1].removeprefix("fatal: ")
            await error_response(400, f"Malformed git request: {reason[:200]}")(scope, receive, send)
        elif result.returncode != 0:
            await error_response(500, f"git {self.run.service.command} failed")(scope, receive, send)
        else:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})


@dataclass
class _StreamState:
    started: bool = False
    bad_body: bool = False
    too_large: bool = False
    body_done: anyio.Event = field(default_factory=anyio.Event)
    result: ServiceResult | None = None


async def _request_body(receive: Receive, gzip: bool, state: _StreamState) -> AsyncGenerator[bytes, None]:
    """The request body as it arrives; a gzipped one is inflated in bounded pieces (no zip bomb in memory), and
    to MAX_INFLATED_BODY bytes at most: past that, git sees the body end and ``state.too_large`` says why."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS) if gzip else None
    inflated = 0
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # git sees a truncated request and fails; a push moves nothing
            chunk: bytes = message.get("body", b"")
            if inflater is None:
                if chunk:
                    yield chunk
            else:
                while chunk:
                    piece = inflater.decompress(chunk, INFLATE_CHUNK)
                    inflated += len(piece)
                    if inflated > MAX_INFLATED_BODY:
                        state.too_large = True
                        return
                    yield piece
                    chunk = inflater.unconsumed_tail
            if not message.get("more_body", False):
                break
        if inflater is not None and (tail := inflater.flush()):
            if inflated + len(tail) > MAX_INFLATED_BODY:
                state.too_large = True
                return
            yield tail
    except zlib.error:
        state.bad_body = True
    finally:
        state.body_done.set()


async def _cancel_on_disconnect(receive: Receive, state: _StreamState, scope: anyio.CancelScope) -> None:
    await state.body_done.wait()
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


# --- routes -------------------------------------------------------------------------------------


def _service(value: str | None) -> GitService:
    try:
        return GitService(value or "")
    except ValueError:
        raise InvalidInputError(
            "Hubstead speaks git's smart HTTP protocol only: ?service=git-upload-pack or git-receive-pack"
        ) from None


def _git_repo(
    repos: RepoService, repo_type: RepoType, namespace: str, name: str, actor: Actor, svc: GitService
) -> Repo:
    repo_id = f"{namespace}/{name.removesuffix('.git')}"
    # contributors may push too: the receive hooks then refuse what they may not change (see repos/push.py)
    push = svc is GitService.RECEIVE_PACK
    return get_repo_for_git(repos, repo_type, repo_id, actor, write=push, contribute=push)


def _info_refs(
    request: Request,
    repo_type: RepoType,
    namespace: str,
    name: str,
    service: str | None,
    repos: RepoServiceDep,
    actor: ActorDep,
    hub: Hub,
) -> Response:
    svc = _service(service)
    repo = _git_repo(repos, repo_type, namespace, name, actor, svc)
    protocol = request.headers.get("git-protocol")
    transport = hub.git_transport
    run = GitRun(
        service=svc,
        argv=transport.command(ref_of(repo).storage_key, svc, advertise=True),
        env=transport.environment(protocol),
        header=transport.advertisement_header(svc, protocol),
    )
    return GitServiceResponse(run, f"application/x-{svc.value}-advertisement")


def _rpc(
    request: Request,
    svc: GitService,
    repo_type: RepoType,
    namespace: str,
    name: str,
    repos: RepoServiceDep,
    actor: ActorDep,
    hub: Hub,
) -> Response:
    repo = _git_repo(repos, repo_type, namespace, name, actor, svc)
    expected = f"application/x-{svc.value}-request"
    if request.headers.get("content-type") != expected:
        raise InvalidInputError(f"Expected Content-Type: {expected}")
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding not in GZIP | {"identity"}:
        raise InvalidInputError(f"Unsupported Content-Encoding: {encoding}")
    transport = hub.git_transport
    key = ref_of(repo).storage_key
    run = GitRun(
        service=svc,
        argv=transport.command(key, svc, advertise=False),
        env=transport.environment(request.headers.get("git-protocol")),
        takes_body=True,
        gzip=encoding in GZIP,
        hooks=_push_hooks(hub, repo.id, _pusher(actor, repo)) if svc is GitService.RECEIVE_PACK else None,
        repo_path=hub.git.path_for(key),
    )
    return GitServiceResponse(run, f"application/x-{svc.value}-result")


def _pusher(actor: Actor, repo: Repo) -> Pusher:
    """What the pusher may change, decided now: the hooks run after this request's unit of work has ended."""
    access = access_to(actor, repo)
    account_id = actor.account.id if actor.account else None
    return Pusher(account_id, write=access.write, contribute=access.contribute, discuss=may_discuss(actor, repo))


def _push_hooks(hub: Hub, repo_pk: int, pusher: Pusher) -> HookHandler:
    async def handle(hook: str, updates: list[RefUpdate], incoming: IncomingObjects) -> HookVerdict:
        return await run_in_threadpool(_run_hook, hub, repo_pk, pusher, hook, updates, incoming)

    return handle


def _run_hook(
    hub: Hub, repo_pk: int, pusher: Pusher, hook: str, updates: list[RefUpdate], incoming: IncomingObjects
) -> HookVerdict:
    """One unit of work per hook: check the push before its refs move, or record it after."""
    try:
        with hub.sessions.begin() as session:
            repo = session.get(Repo, repo_pk)
            if repo is None:
                raise RepoNotFoundError()
            repos = RepoService(session, hub.git, hub.blobs)
            push = PushService(repos, hub.blobs, DiscussionService(repos))
            if hook == "pre-receive":
                push.check_push(repo, updates, incoming, pusher)
            else:
                push.record_push(repo, updates, pusher)
                scans = ScanService(FileService(repos, hub.blobs), hub.settings.scanning, hub.jobs)
                for sha in dict.fromkeys(u.new for u in updates if u.new is not None):
                    scans.request_scan(repo.id, sha)  # once this unit of work has committed
                    request_conversion(hub.jobs, hub.settings, session, repo, sha)
    except HubsteadError as exc:
        if hook != "pre-receive":
            log.error("recording a push to repo %s failed: %s", repo_pk, exc.message)
        return HookVerdict(False, exc.message)
    return HookVerdict(True)


@router.get("/{namespace}/{name}/info/refs")
def git_info_refs_model(
    request: Request,
    namespace: str,
    name: str,
    repos: RepoServiceDep,
    actor: ActorDep,
    hub: HubDep,
    service: str | None = None,
) -> Response:
    return _info_refs(request, RepoType.MODEL, namespace, name, service, repos, actor, hub)


@router.get("/{repo_type:repoprefix}/{namespace}/{name}/info/refs")
def git_info_refs(
    request: Request,
    repo_type: RepoType,
    namespace: str,
    name: str,
    repos: RepoServiceDep,
    actor: ActorDep,
    hub: HubDep,
    service: str | None = None,
) -> Response:
    return _info_refs(request, repo_type, namespace, name, service, repos, actor, hub)


@router.post("/{namespace}/{name}/git-upload-pack")
def git_upload_pack_model(
    request: Request, namespace: str, name: str, repos: RepoServiceDep, actor: ActorDep, hub: HubDep
) -> Response:
    return _rpc(request, GitService.UPLOAD_PACK, RepoType.MODEL, namespace, name, repos, actor, hub)


@router.post("/{repo_type:repoprefix}/{namespace}/{name}/git-upload-pack")
def git_upload_pack(
    request: Request,
    repo_type: RepoType,
    namespace: str,
    name: str,
    repos: RepoServiceDep,
    actor: ActorDep,
    hub: HubDep,
) -> Response:
    return _rpc(request, GitService.UPLOAD_PACK, repo_type, namespace, name, repos, actor, hub)


@router.post("/{namespace}/{name}/git-receive-pack")
def git_receive_pack_model(
    request: Request, namespace: str, name: str, repos: RepoServiceDep, actor: ActorDep, hub: HubDep
) -> Response:
    return _rpc(request, GitService.RECEIVE_PACK, RepoType.MODEL, namespace, name, repos, actor, hub)


@router.post("/{repo_type:repoprefix}/{namespace}/{name}/git-receive-pack")
def git_receive_pack(
    request: Request,
    repo_type: RepoType,
    namespace: str,
    name: str,
    repos: RepoServiceDep,
    actor: ActorDep,
    hub: HubDep,
) -> Response:
    return _rpc(request, GitService.RECEIVE_PACK, repo_type, namespace, name, repos, actor, hub)


def _locks_not_implemented() -> Response:
    # git-lfs reads 501 as "this server has no locking" and sets lfs.<url>.locksverify=false for the remote
    message = "Hubstead does not support git-lfs file locking"
    body = {"error": message, "message": message}  # "message" is what git-lfs shows
    return JSONResponse(body, status_code=501, headers={"X-Error-Message": message}, media_type=LFS_JSON)


@router.get("/{namespace}/{name}.git/info/lfs/locks{rest:path}", operation_id="lfs_locks_model_get")
@router.post("/{namespace}/{name}.git/info/lfs/locks{rest:path}", operation_id="lfs_locks_model_post")
def lfs_locks_model(namespace: str, name: str, rest: str) -> Response:
    return _locks_not_implemented()


@router.get("/{repo_type:repoprefix}/{namespace}/{name}.git/info/lfs/locks{rest:path}", operation_id="lfs_locks_get")
@router.post("/{repo_type:repoprefix}/{namespace}/{name}.git/info/lfs/locks{rest:path}", operation_id="lfs_locks_post")
def lfs_locks(repo_type: RepoType, namespace: str, name: str, rest: str) -> Response:
    return _locks_not_implemented()
