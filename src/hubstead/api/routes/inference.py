"""The inference API, with huggingface.co's and OpenAI's shapes: the hub checks the caller's rights on the model
(as for its files: private looks missing, gated needs a grant), counts the call, and forwards it to an inference
worker with a token that reads only that model for a few minutes (docs/inference.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response, StreamingResponse

from hubstead.api.deps import get_actor, unit_of_work
from hubstead.api.disconnect import unless_disconnected
from hubstead.api.limits import BoundedJsonRoute, read_body
from hubstead.errors import InferenceUnavailableError, InvalidInputError, ModelNotRunnableError, UnsupportedTaskError
from hubstead.hub import Hub
from hubstead.inference.client import TASKS, WorkerCall, WorkerClient, WorkerResponse
from hubstead.repos.models import RepoType
from hubstead.repos.search import RepoQuery, SearchService
from hubstead.repos.services import RepoService
from hubstead.repos.stats import StatsService

router = APIRouter(route_class=BoundedJsonRoute)
CHAT_TASKS = ("text-generation", "conversational", "image-text-to-text")
LISTED_TASKS = ("text-generation", "feature-extraction", "sentence-similarity")


def worker_client(hub: Hub) -> WorkerClient:
    settings = hub.settings.inference
    if hub.inference_client is None:
        if not settings.enabled or not settings.worker_url:
            raise InferenceUnavailableError("The inference API is not enabled on this hub (no inference worker)")
        hub.inference_client = WorkerClient(settings.worker_url, settings.worker_key, settings.timeout_seconds)
    return hub.inference_client


async def _checked_call(request: Request, repo_id: str, path: str, task: str | None) -> WorkerCall:
    """The caller may download the model's files (else 401/403/404 as resolve answers); the call is counted."""
    hub: Hub = request.app.state.hub
    worker_client(hub)  # 503 before any work when there is no worker
    async with unit_of_work(hub) as session:
        actor = await get_actor(request, session)
        repos = RepoService(session, hub.git, hub.blobs)
        repo = await run_in_threadpool(repos.get_repo_for_download, RepoType.MODEL, repo_id, actor)
        if repo.head_sha is None:
            raise ModelNotRunnableError(f"{repo.repo_id} has no files yet")
        tag = repo.pipeline_tag
        if task is None and tag and tag not in TASKS:
            raise UnsupportedTaskError(f"{repo.repo_id} is a {tag[:64]} model, which the inference API does not run")
        await run_in_threadpool(StatsService(session).count_inference_call, repo)
        account = actor.account.name if actor.account else None
        call = WorkerCall(path, repo.repo_id, repo.head_sha, task, tag if tag in TASKS else None, None)
        uid = repo.uid
    token = hub.delegated_tokens.issue(account, "model", call.repo_id, uid)
    return WorkerCall(call.path, call.repo_id, call.revision, call.task, call.pipeline_tag, token)


async def _forward(request: Request, call: WorkerCall, body: bytes) -> Response:
    hub: Hub = request.app.state.hub
    upstream = await unless_disconnected(request, worker_client(hub).send(call, dict(request.headers), body))
    if upstream.headers.get("content-type", "").startswith("text/event-stream"):
        return StreamingResponse(_relay(upstream), status_code=upstream.status, headers=upstream.headers)
    try:
        content = await unless_disconnected(request, _read_all(upstream))
    finally:
        await upstream.close()
    return Response(content, status_code=upstream.status, headers=upstream.headers)


async def _read_all(upstream: WorkerResponse) -> bytes:
    return b"".join([chunk async for chunk in upstream.chunks])


async def _relay(upstream: WorkerResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in upstream.chunks:
            yield chunk
    finally:  # the client went away (or the stream ended): closing tells the worker to stop generating
        await upstream.close()


async def _body(request: Request) -> bytes:
    hub: Hub = request.app.state.hub
    return bytes(await read_body(request, hub.settings.inference.max_body_bytes))


@router.post("/models/{namespace}/{name}")
async def call_model(request: Request, namespace: str, name: str) -> Response:
    body = await _body(request)
    call = await _checked_call(request, f"{namespace}/{name}", "/run", None)
    return await _forward(request, call, body)


@router.post("/models/{namespace}/{name}/pipeline/{task}")
async def call_model_pipeline(request: Request, namespace: str, name: str, task: str) -> Response:
    if task not in TASKS:
        raise UnsupportedTaskError(f"Unknown task {task[:64]!r}: the inference API runs {', '.join(sorted(TASKS))}")
    body = await _body(request)
    call = await _checked_call(request, f"{namespace}/{name}", "/run", task)
    return await _forward(request, call, body)


@router.post("/models/{namespace}/{name}/v1/chat/completions")
async def create_model_chat_completion(request: Request, namespace: str, name: str) -> Response:
    body = await _body(request)
    call = await _checked_call(request, f"{namespace}/{name}", "/v1/chat/completions", "text-generation")
    return await _forward(request, call, body)


def _model_named(body: bytes) -> str:
    import json

    try:
        model = json.loads(body).get("model")
    except (ValueError, AttributeError) as exc:
        raise InvalidInputError("The body must be a JSON object naming a model") from exc
    if not isinstance(model, str) or model.count("/") != 1:
        raise InvalidInputError("model must name a model of this hub, as namespace/name")
    return model


@router.post("/v1/chat/completions")
async def create_chat_completion(request: Request) -> Response:
    body = await _body(request)
    call = await _checked_call(request, _model_named(body), "/v1/chat/completions", "text-generation")
    return await _forward(request, call, body)


@router.post("/v1/embeddings")
async def create_embeddings(request: Request) -> Response:
    body = await _body(request)
    call = await _checked_call(request, _model_named(body), "/v1/embeddings", "feature-extraction")
    return await _forward(request, call, body)


@router.get("/v1/models")
async def list_inference_models(request: Request) -> Response:
    """Models the caller may call for chat or embeddings, in OpenAI's list shape."""
    hub: Hub = request.app.state.hub
    async with unit_of_work(hub) as session:
        actor = await get_actor(request, session)
        search = SearchService(session)
        found = []
        for task in LISTED_TASKS:
            query = RepoQuery(RepoType.MODEL, pipeline_tag=task, limit=1000)
            found += (await run_in_threadpool(search.list_repos, query, actor)).repos
        data = [
            {"id": r.repo_id, "object": "model", "created": int(r.created_at.timestamp()), "owned_by": r.namespace}
            | {"task": r.pipeline_tag}
            for r in found
        ]
    return JSONResponse({"object": "list", "data": data})
