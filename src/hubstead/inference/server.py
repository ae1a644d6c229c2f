"""The inference worker's HTTP face: what the hub forwards calls to (``hubstead inference-worker``).

The hub has already checked the caller's rights; it names the model, its commit and the task in headers and
passes a short-lived token scoped to that one model, with which the worker downloads the weights. Bodies
are huggingface.co's (``{"inputs", "parameters"}``, raw bytes for images and audio) and OpenAI's."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from hubstead.api.disconnect import unless_disconnected
from hubstead.api.errors import install_error_handlers
from hubstead.errors import AuthenticationError, HubsteadError, InvalidInputError
from hubstead.inference.services import Call, InferenceService

BINARY_TASKS = ("image-classification", "automatic-speech-recognition")
MAX_BODY = 64 * 1024 * 1024
KEY_HEADER = "X-Hubstead-Worker-Key"


def create_worker_app(service: InferenceService, key: str | None = None) -> FastAPI:
    """The worker's ASGI app; ``key``, when set, must come with every call (the hub sends it)."""
    app = FastAPI(title="Hubstead inference worker", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service
    app.state.key = key
    install_error_handlers(app)
    app.router.routes.extend(
        [
            Route("/run", run_task, methods=["POST"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/stats", stats, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
    return app


def _service(request: Request) -> InferenceService:
    key: str | None = request.app.state.key
    if key and not hmac.compare_digest(request.headers.get(KEY_HEADER, ""), key):
        raise AuthenticationError("This inference worker takes calls from its hub only")
    service: InferenceService = request.app.state.service
    return service


def _call(request: Request, task: str | None = None) -> Call:
    headers = request.headers
    repo_id, revision = headers.get("X-Hubstead-Model"), headers.get("X-Hubstead-Revision")
    if not repo_id or not revision:
        raise InvalidInputError("X-Hubstead-Model and X-Hubstead-Revision are required")
    auth = headers.get("Authorization", "")
    token = auth[7:] if auth.lower().startswith("bearer ") else None
    wait = headers.get("X-Wait-For-Model", "true").lower() != "false"
    task = task or headers.get("X-Hubstead-Task") or None
    return Call(repo_id, revision, task, headers.get("X-Hubstead-Pipeline-Tag") or None, token, wait)


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidInputError("The request body is too large")
    return body


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError("The body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidInputError("The body must be a JSON object")
    return data


async def run_task(request: Request) -> Response:
    service = _service(request)
    call = _call(request)
    body = await _body(request)
    payload = _payload(request, body, call)
    parameters = payload.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInputError("parameters must be an object")
    options = payload.get("options") or {}
    if isinstance(options, dict) and options.get("wait_for_model") is False:
        call = Call(call.repo_id, call.revision, call.task, call.pipeline_tag, call.token, False)
    if payload.get("stream"):
        return _sse(_tgi_events(service.stream(call, _prompt(payload), parameters)))
    if (call.task or call.pipeline_tag) in ("feature-extraction", "sentence-similarity"):
        parameters = {}  # normalize/truncate are the model's own: its sentence-transformers config says which apply
    return JSONResponse(await unless_disconnected(request, service.run(call, payload.get("inputs"), parameters)))


def _payload(request: Request, body: bytes, call: Call) -> dict[str, Any]:
    binary = (call.task or call.pipeline_tag) in BINARY_TASKS
    if binary and not request.headers.get("content-type", "").startswith("application/json"):
        return {"inputs": body}
    payload = _json(body)
    if binary and isinstance(payload.get("inputs"), str):
        try:
            payload["inputs"] = base64.b64decode(payload["inputs"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInputError("inputs must be the file in base64") from exc
    return payload


def _prompt(payload: dict[str, Any]) -> str:
    prompt = payload.get("inputs")
    if not isinstance(prompt, str):
        raise InvalidInputError("A streamed generation takes one prompt (a string)")
    return prompt


async def _tgi_events(pieces: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """Text Generation Inference's stream: one event per token, the whole text in the last one."""
    text = ""
    index = 0
    async for piece in pieces:
        index += 1
        text += piece
        token = {"id": index, "text": piece, "logprob": 0.0, "special": False}
        yield {"index": index, "token": token, "generated_text": None, "details": None, "top_tokens": None}
    token = {"id": index + 1, "text": "", "logprob": 0.0, "special": True}
    yield {"index": index + 1, "token": token, "generated_text": text, "details": None, "top_tokens": None}


def _sse(events: AsyncIterator[dict[str, Any] | str]) -> StreamingResponse:
    async def lines() -> AsyncIterator[bytes]:
        try:
            async for event in events:
                data = event if isinstance(event, str) else json.dumps(event)
                yield f"data: {data}\n\n".encode()
        except HubsteadError as exc:  # once streaming, an error is an event: the status has gone
            yield f"data: {json.dumps({'error': exc.message, 'error_type': type(exc).__name__})}\n\n".encode()

    return StreamingResponse(lines(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


# --- OpenAI ----------------------------------------------------------------------------------


def _chat_params(payload: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"max_new_tokens": payload.get("max_tokens") or payload.get("max_completion_tokens")}
    for name in ("temperature", "top_p", "seed"):
        if payload.get(name) is not None:
            params[name] = payload[name]
    return params


def _messages(payload: dict[str, Any]) -> list[dict[str, Any]]:
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidInputError("messages must be a non-empty list")
    out = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidInputError("each message needs a role and content")
        content = message.get("content")
        if isinstance(content, list):  # content parts: the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        out.append({"role": message["role"], "content": content or ""})
    return out


async def chat_completions(request: Request) -> Response:
    service = _service(request)
    call = _call(request, "text-generation")
    payload = _json(await _body(request))
    model = str(payload.get("model") or call.repo_id)
    pieces = service.stream(call, _messages(payload), _chat_params(payload))
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if payload.get("stream"):
        return _sse(_chat_events(pieces, ident, created, model))
    text, count = await unless_disconnected(request, _join(pieces))
    limit = _chat_params(payload)["max_new_tokens"]
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": "length" if limit and count >= int(limit) else "stop",
        "logprobs": None,
    }
    usage = {"prompt_tokens": 0, "completion_tokens": count, "total_tokens": count}
    return JSONResponse(
        {"id": ident, "object": "chat.completion", "created": created, "model": model, "system_fingerprint": "hubstead"}
        | {"choices": [choice], "usage": usage}
    )


async def _join(pieces: AsyncIterator[str]) -> tuple[str, int]:
    text, count = "", 0
    async for piece in pieces:
        text, count = text + piece, count + 1
    return text, count


async def _chat_events(pieces: AsyncIterator[str], ident: str, created: int, model: str) -> AsyncIterator[Any]:
    head = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
    head["system_fingerprint"] = "hubstead"
    first = True
    async for piece in pieces:
        delta = {"role": "assistant", "content": piece} if first else {"content": piece}
        first = False
        yield head | {"choices": [{"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}]}
    yield head | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "logprobs": None}]}
    yield "[DONE]"


async def embeddings(request: Request) -> Response:
    service = _service(request)
    call = _call(request, "feature-extraction")
    payload = _json(await _body(request))
    texts = payload.get("input")
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise InvalidInputError("input must be a string or a list of strings (token ids are not supported)")
    vectors = await unless_disconnected(request, service.embeddings(call, texts))
    as_base64 = payload.get("encoding_format") == "base64"
    data = [
        {"object": "embedding", "index": i, "embedding": _base64_floats(v) if as_base64 else v}
        for i, v in enumerate(vectors)
    ]
    tokens = sum(len(t) // 4 + 1 for t in texts)
    return JSONResponse(
        {"object": "list", "data": data, "model": str(payload.get("model") or call.repo_id)}
        | {"usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    )


def _base64_floats(vector: list[float]) -> str:
    import array

    return base64.b64encode(array.array("f", vector).tobytes()).decode()  # little-endian float32, as OpenAI's


async def stats(request: Request) -> Response:
    return JSONResponse(_service(request).stats())


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})
