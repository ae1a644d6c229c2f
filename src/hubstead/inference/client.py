"""The hub's side of inference: forwarding a checked call to an inference worker (over HTTP, with httpx).

Nothing here imports torch or transformers: the hub only forwards. The worker is told the model, its commit,
the task and the card's pipeline_tag in headers, and gets a delegated token (accounts/delegation.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from hubstead.errors import InferenceUnavailableError

WORKER_KEY_HEADER = "X-Hubstead-Worker-Key"
TASKS = frozenset(
    {
        "text-classification", "token-classification", "fill-mask", "feature-extraction", "sentence-similarity",
        "question-answering", "zero-shot-classification", "summarization", "translation", "text-generation",
        "text2text-generation", "image-classification", "automatic-speech-recognition",
    }
)  # fmt: skip
FORWARDED_HEADERS = ("content-type", "x-wait-for-model", "accept")
PASSED_BACK = ("content-type", "x-error-code", "x-error-message", "cache-control", "retry-after")


@dataclass(frozen=True)
class WorkerCall:
    path: str  # /run, /v1/chat/completions, /v1/embeddings
    repo_id: str
    revision: str
    task: str | None
    pipeline_tag: str | None
    token: str | None


@dataclass
class WorkerResponse:
    status: int
    headers: dict[str, str]
    chunks: AsyncIterator[bytes]
    response: httpx.Response

    async def close(self) -> None:
        await self.response.aclose()


class WorkerClient:
    """One connection pool to the worker, shared by the hub's requests."""

    def __init__(
        self, base_url: str, key: str | None, timeout_seconds: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        timeout = httpx.Timeout(timeout_seconds + 10, connect=5)
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)
        self._key = key

    async def close(self) -> None:
        await self._client.aclose()

    def _headers(self, call: WorkerCall, incoming: dict[str, str]) -> dict[str, str]:
        headers = {k: v for k, v in incoming.items() if k.lower() in FORWARDED_HEADERS}
        headers |= {"X-Hubstead-Model": call.repo_id, "X-Hubstead-Revision": call.revision}
        if call.task:
            headers["X-Hubstead-Task"] = call.task
        if call.pipeline_tag:
            headers["X-Hubstead-Pipeline-Tag"] = call.pipeline_tag
        if call.token:
            headers["Authorization"] = f"Bearer {call.token}"
        if self._key:
            headers[WORKER_KEY_HEADER] = self._key
        return headers

    async def send(self, call: WorkerCall, incoming: dict[str, str], body: bytes) -> WorkerResponse:
        """Send the call; the response streams (the caller closes it, which tells the worker to stop)."""
        request = self._client.build_request("POST", call.path, headers=self._headers(call, incoming), content=body)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise InferenceUnavailableError("The inference worker cannot be reached; try again shortly") from exc
        headers = {k: v for k, v in response.headers.items() if k.lower() in PASSED_BACK}
        return WorkerResponse(response.status_code, headers, response.aiter_bytes(), response)
