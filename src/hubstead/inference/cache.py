"""The worker's model cache: models loaded once, kept within a memory budget, the least recently used evicted.

Loading runs in a thread of its own; a caller that arrives while a model loads may wait for it (up to a
limit) or be told at once how long it should still take (huggingface.co's ``503`` + ``estimated_time``)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hubstead.errors import ModelLoadingError, ModelNotRunnableError

log = logging.getLogger("hubstead.inference")

LOAD_BYTES_PER_SECOND = 150 * 1024 * 1024  # download + load: a rough figure for estimated_time
LOAD_BASE_SECONDS = 2.0


@dataclass(frozen=True)
class ModelKey:
    repo_id: str
    revision: str  # a commit sha: a cached model never changes under its key
    task: str = ""  # as asked for or the card's ("" : guessed from the architecture once downloaded)


@dataclass
class CachedModel:
    """A loaded model; ``payload`` is whatever the loader built (pipelines, tokenizer, executor...)."""

    key: ModelKey
    payload: Any
    size_bytes: int
    in_use: int = 0
    last_used: float = field(default_factory=time.monotonic)


@dataclass
class _Loading:
    started: float
    expected_seconds: float
    future: asyncio.Future[CachedModel]


Loader = Callable[[ModelKey], tuple[Any, int]]  # blocking: (payload, size in bytes); raises our errors
Unloader = Callable[[Any], None]


class ModelCache:
    """Loaded models by key, within ``budget_bytes``; loads are shared by the callers that wait for them."""

    def __init__(self, loader: Loader, unloader: Unloader, budget_bytes: int, expected_bytes: int = 0) -> None:
        self._loader = loader
        self._unloader = unloader
        self.budget_bytes = budget_bytes
        self._models: OrderedDict[ModelKey, CachedModel] = OrderedDict()
        self._loading: dict[ModelKey, _Loading] = {}
        self._lock = threading.Lock()
        self._expected_bytes = expected_bytes
        self.evictions = 0

    @property
    def used_bytes(self) -> int:
        return sum(m.size_bytes for m in self._models.values())

    def loaded(self) -> list[CachedModel]:
        return list(self._models.values())

    async def acquire(self, key: ModelKey, wait_seconds: float) -> CachedModel:
        """The loaded model (marked in use until ``release``), loading it if needed. While it loads, waits up to
        ``wait_seconds``, then raises ModelLoadingError with the time it should still take."""
        model = self._models.get(key)
        if model is None:
            loading = self._loading.get(key) or self._start(key)
            try:
                model = await asyncio.wait_for(asyncio.shield(loading.future), timeout=max(wait_seconds, 0.001))
            except TimeoutError:
                remaining = max(loading.expected_seconds - (time.monotonic() - loading.started), 1.0)
                raise ModelLoadingError(f"Model {key.repo_id} is currently loading", remaining) from None
        model.in_use += 1
        model.last_used = time.monotonic()
        self._models.move_to_end(key)
        return model

    def release(self, model: CachedModel) -> None:
        model.in_use -= 1

    def _start(self, key: ModelKey) -> _Loading:
        loop = asyncio.get_running_loop()
        expected = LOAD_BASE_SECONDS + self._expected_bytes / LOAD_BYTES_PER_SECOND
        loading = _Loading(time.monotonic(), expected, loop.create_future())
        self._loading[key] = loading
        task = loop.run_in_executor(None, self._loader, key)
        task.add_done_callback(lambda done: self._finish(key, loading, done))
        return loading

    def _finish(self, key: ModelKey, loading: _Loading, done: asyncio.Future[tuple[Any, int]]) -> None:
        del self._loading[key]
        error = done.exception()
        if error is not None:
            loading.future.set_exception(error)
            loading.future.exception()  # retrieved: a load nobody waits for any more is not an unhandled error
            return
        payload, size = done.result()
        try:
            self._make_room(size)
        except ModelNotRunnableError as exc:
            self._unloader(payload)
            loading.future.set_exception(exc)
            loading.future.exception()
            return
        model = CachedModel(key, payload, size)
        self._models[key] = model
        self._expected_bytes = max(self._expected_bytes, size)
        loading.future.set_result(model)

    def _make_room(self, size: int) -> None:
        if size > self.budget_bytes:
            raise ModelNotRunnableError(
                f"The model needs {size / 2**20:.0f} MiB, more than this worker's budget of "
                f"{self.budget_bytes / 2**20:.0f} MiB"
            )
        for key in list(self._models):  # oldest first
            if self.used_bytes + size <= self.budget_bytes:
                return
            victim = self._models[key]
            if victim.in_use:
                continue
            del self._models[key]
            self.evictions += 1
            log.info("evicting %s@%s (%d bytes)", key.repo_id, key.revision[:8], victim.size_bytes)
            self._unloader(victim.payload)
        if self.used_bytes + size > self.budget_bytes:
            raise ModelNotRunnableError("Every loaded model is busy: no room for another one now, try again")
