"""The inference worker's service: models from the cache, requests through their batchers, with time limits.

It knows the hub only as an HTTP endpoint (``hub_url``): weights come through the public API with the token
the hub forwarded for the call (short-lived, read-only, scoped to the one model)."""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubstead.errors import InferenceTimeoutError, InvalidInputError, UnsupportedTaskError
from hubstead.inference import loading, runners
from hubstead.inference.batching import BatchLimits, DynamicBatcher
from hubstead.inference.cache import CachedModel, ModelCache, ModelKey

SENTENCE_TASKS = ("feature-extraction", "sentence-similarity")
MAX_ITEMS = 256  # inputs in one request


@dataclass(frozen=True)
class WorkerConfig:
    hub_url: str
    cache_dir: Path
    token: str | None = None  # used when a call carries none (public models)
    memory_budget_bytes: int = 4 * 1024**3
    wait_for_model_seconds: float = 60.0
    timeout_seconds: float = 120.0
    per_model_concurrency: int = 1
    batch: BatchLimits = field(default_factory=BatchLimits)


@dataclass(frozen=True)
class Call:
    """One request: which model (at which commit), which task, and with which credentials."""

    repo_id: str
    revision: str
    task: str | None  # asked for explicitly (/pipeline/{task}, /v1/embeddings), else the card's
    pipeline_tag: str | None
    token: str | None
    wait_for_model: bool = True


@dataclass
class WorkerModel:
    loaded: runners.LoadedModel
    executor: ThreadPoolExecutor
    batchers: dict[str, DynamicBatcher] = field(default_factory=dict)


class InferenceService:
    """Runs calls on the models it caches; one per worker process."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.cache = ModelCache(self._load, self._unload, config.memory_budget_bytes)
        self._tokens: dict[ModelKey, str | None] = {}
        self.calls = 0
        self.cancelled_streams = 0  # generations stopped because the caller went away

    # --- models ------------------------------------------------------------------------------

    def _key(self, call: Call) -> ModelKey:
        task = call.task or call.pipeline_tag or ""
        return ModelKey(call.repo_id, call.revision, "feature-extraction" if task in SENTENCE_TASKS else task)

    def _load(self, key: ModelKey) -> tuple[WorkerModel, int]:
        token = self._tokens.pop(key, None) or self.config.token
        path = loading.download(self.config.hub_url, key.repo_id, key.revision, token, self.config.cache_dir)
        files = loading.inspect(path, self.config.memory_budget_bytes)
        loaded = runners.load(files, loading.task_of(files, key.task or None))
        executor = ThreadPoolExecutor(self.config.per_model_concurrency, thread_name_prefix=f"model-{key.repo_id}")
        return WorkerModel(loaded, executor), runners.size_of(loaded)

    @staticmethod
    def _unload(model: WorkerModel) -> None:
        model.executor.shutdown(wait=False)
        runners.unload(model.loaded)

    async def _acquire(self, call: Call) -> CachedModel:
        key = self._key(call)
        self._tokens[key] = call.token  # the newest: a token an earlier call brought may have expired by a reload
        wait = self.config.wait_for_model_seconds if call.wait_for_model else 0.0
        return await self.cache.acquire(key, wait)

    # --- calls -------------------------------------------------------------------------------

    async def run(self, call: Call, inputs: Any, parameters: dict[str, Any]) -> Any:
        """A task call in huggingface.co's shapes: one result for one input, a list for a list."""
        self.calls += 1
        cached = await self._acquire(call)
        try:
            model: WorkerModel = cached.payload
            task = self._task_for(call, model.loaded)
            if task == "sentence-similarity" and not isinstance(inputs, dict):
                task = "feature-extraction"  # a text, or texts: their embeddings (clients post either to /models/{id})
            if task == "sentence-similarity":
                return await self._similarity(model, inputs)
            many = isinstance(inputs, list) and task not in ("question-answering",)
            items = inputs if many else [inputs]
            _check_items(task, items)
            batcher = self._batcher(model, task, parameters)
            results = await self._within_time(asyncio.gather(*(batcher.submit(i, _cost(i)) for i in items)))
            if many:
                return results
            return _single(task, results[0])
        finally:
            self.cache.release(cached)

    async def embeddings(self, call: Call, texts: list[str]) -> list[list[float]]:
        """Pooled sentence embeddings (mean pooling for a model that is not a sentence-transformers one)."""
        self.calls += 1
        cached = await self._acquire(call)
        try:
            model: WorkerModel = cached.payload
            if model.loaded.task not in SENTENCE_TASKS:
                raise UnsupportedTaskError(f"{call.repo_id} is a {model.loaded.task} model, not an embedding model")
            _check_items("feature-extraction", texts)
            batcher = self._batcher(model, "embed", {})
            return list(await self._within_time(asyncio.gather(*(batcher.submit(t, _cost(t)) for t in texts))))
        finally:
            self.cache.release(cached)

    async def _similarity(self, model: WorkerModel, inputs: Any) -> list[float]:
        if not isinstance(inputs, dict) or not isinstance(inputs.get("source_sentence"), str):
            raise InvalidInputError("inputs must be {source_sentence: str, sentences: [str]}")
        others = inputs.get("sentences")
        if not isinstance(others, list) or not all(isinstance(s, str) for s in others):
            raise InvalidInputError("inputs.sentences must be a list of strings")
        texts = [inputs["source_sentence"], *others]
        _check_items("feature-extraction", texts)
        batcher = self._batcher(model, "embed", {})
        vectors = await self._within_time(asyncio.gather(*(batcher.submit(t, _cost(t)) for t in texts)))
        return [_cosine(vectors[0], v) for v in vectors[1:]]

    async def _within_time(self, work: Any) -> Any:
        try:
            return await asyncio.wait_for(work, self.config.timeout_seconds)
        except TimeoutError:
            raise InferenceTimeoutError("The model did not answer in time") from None

    def _task_for(self, call: Call, loaded: runners.LoadedModel) -> str:
        task = call.task or call.pipeline_tag or loaded.task
        if task == "text2text-generation":
            task = "summarization"
        same = task == loaded.task or {task, loaded.task} <= set(SENTENCE_TASKS)
        if not same:
            raise UnsupportedTaskError(f"{call.repo_id} is a {loaded.task} model; it does not run {task}")
        if task not in runners.RUNNERS and task != "sentence-similarity":
            raise UnsupportedTaskError(f"Hubstead does not run the task {task!r}")
        return task

    def _batcher(self, model: WorkerModel, task: str, parameters: dict[str, Any]) -> DynamicBatcher:
        """One batcher per task and parameters: only calls with the same parameters share a forward pass."""
        params = {k: v for k, v in parameters.items() if v is not None}
        key = task + json.dumps(params, sort_keys=True, default=str)
        batcher = model.batchers.get(key)
        if batcher is None:
            loaded = model.loaded
            if task == "embed":

                def run(items: list[Any]) -> list[Any]:
                    return runners.embed(loaded, items, pooled=True)

            else:
                function = runners.RUNNERS[task]

                def run(items: list[Any]) -> list[Any]:
                    return function(loaded, items, params)

            batcher = DynamicBatcher(run, model.executor, self.config.batch)
            model.batchers[key] = batcher
        return batcher

    # --- streaming generation -------------------------------------------------------------------

    async def stream(
        self, call: Call, prompt: str | list[dict[str, Any]], params: dict[str, Any]
    ) -> AsyncIterator[str]:
        """Generated text piece by piece (a prompt, or chat messages); stops generating when the caller leaves."""
        self.calls += 1
        cached = await self._acquire(call)
        cancelled = threading.Event()
        finished = False
        try:
            model: WorkerModel = cached.payload
            loaded = model.loaded
            if loaded.task != "text-generation":
                raise UnsupportedTaskError(f"{call.repo_id} is a {loaded.task} model, not a text-generation one")
            if isinstance(prompt, str):
                ids = loaded.tokenizer(prompt, return_tensors="pt")["input_ids"]
            else:
                ids = runners.chat_prompt(loaded, prompt)
            pieces = runners.stream_generation(loaded, ids, params, cancelled)
            loop = asyncio.get_running_loop()
            sentinel = object()
            while True:
                piece = await loop.run_in_executor(None, next, pieces, sentinel)
                if piece is sentinel:
                    finished = True
                    return
                yield piece[1]  # type: ignore[index]
        finally:
            if not finished:
                self.cancelled_streams += 1
            cancelled.set()
            self.cache.release(cached)

    def stats(self) -> dict[str, Any]:
        models = []
        for cached in self.cache.loaded():
            model: WorkerModel = cached.payload
            batches = [b.stats for b in model.batchers.values()]
            models.append(
                {
                    "model": cached.key.repo_id,
                    "revision": cached.key.revision,
                    "task": model.loaded.task,
                    "size_bytes": cached.size_bytes,
                    "batches": sum(s.batches for s in batches),
                    "items": sum(s.items for s in batches),
                    "cancelled": sum(s.cancelled for s in batches),
                }
            )
        return {
            "calls": self.calls,
            "cancelled_streams": self.cancelled_streams,
            "memory_budget_bytes": self.cache.budget_bytes,
            "memory_used_bytes": self.cache.used_bytes,
            "evictions": self.cache.evictions,
            "models": models,
        }


def _check_items(task: str, items: list[Any]) -> None:
    if not items or len(items) > MAX_ITEMS:
        raise InvalidInputError(f"inputs must hold between 1 and {MAX_ITEMS} items")
    binary = task in ("image-classification", "automatic-speech-recognition")
    for item in items:
        if task == "question-answering":
            if not (
                isinstance(item, dict)
                and isinstance(item.get("question"), str)
                and isinstance(item.get("context"), str)
            ):
                raise InvalidInputError("inputs must be {question: str, context: str}")
        elif binary and not isinstance(item, bytes):
            raise InvalidInputError("inputs must be the file's bytes (or base64 in JSON)")
        elif not binary and not isinstance(item, str):
            raise InvalidInputError("inputs must be a string or a list of strings")


def _cost(item: Any) -> int:
    """Tokens, roughly (a fast guess: batching groups by it; exact counts would tokenise twice)."""
    if isinstance(item, str):
        return len(item) // 4 + 2
    if isinstance(item, dict):
        return sum(len(str(v)) for v in item.values()) // 4 + 2
    return 512


def _single(task: str, result: Any) -> Any:
    # one input: huggingface.co answers text-classification with [[...]], generation with [{...}], others bare
    if task == "text-classification":
        return [result]
    return result


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
