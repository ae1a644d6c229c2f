"""Dynamic batching: requests for the same model and task that arrive close together share one forward pass.

Requests queue per batcher; a loop takes what is queued, waits a few milliseconds for more only when recent
traffic was concurrent (a lone client never waits), sorts the items by length and cuts them into buckets whose
padded size (items x longest item) stays under a token budget, and runs each bucket in the model's executor.
A request whose caller went away before its bucket ran is dropped from it (cancellation)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

RunBatch = Callable[[list[Any]], Sequence[Any]]


@dataclass(frozen=True)
class BatchLimits:
    max_wait_ms: float = 3.0
    max_batch_tokens: int = 8192  # padded tokens in one forward pass
    max_batch_size: int = 64


@dataclass
class _Pending:
    item: Any
    cost: int
    future: asyncio.Future[Any]


@dataclass
class BatchStats:
    batches: int = 0
    items: int = 0
    cancelled: int = 0
    padded_tokens: int = 0
    real_tokens: int = 0
    sizes: list[int] = field(default_factory=list)


MIN_PADDING_EFFICIENCY = 0.7  # real tokens / padded tokens below which a long item starts a bucket of its own
MIN_BUCKET = 8  # ...once the bucket holds this many (a forward pass has a fixed cost too)


def buckets(costs: Sequence[int], max_tokens: int, max_size: int) -> list[list[int]]:
    """Indices of ``costs`` grouped so that each group's padded size (count x largest cost) stays within
    ``max_tokens`` (a single item always forms a group), similar lengths go together, and a group of a fair
    size is closed rather than padded mostly with nothing."""
    order = sorted(range(len(costs)), key=lambda i: costs[i])
    groups: list[list[int]] = []
    current: list[int] = []
    real = 0
    for index in order:
        longest = costs[index]  # sorted: the newcomer is the longest of its group
        padded = (len(current) + 1) * longest
        wasteful = len(current) >= MIN_BUCKET and (real + longest) < MIN_PADDING_EFFICIENCY * padded
        if current and (padded > max_tokens or len(current) >= max_size or wasteful):
            groups.append(current)
            current, real = [], 0
        current.append(index)
        real += longest
    if current:
        groups.append(current)
    return groups


class DynamicBatcher:
    """Runs ``run_batch`` (a blocking function, in ``executor``) over batches of submitted items."""

    def __init__(self, run_batch: RunBatch, executor: Executor, limits: BatchLimits) -> None:
        self._run_batch = run_batch
        self._executor = executor
        self._limits = limits
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._recent_size = 1.0  # moving average of batch sizes: is traffic concurrent?
        self.stats = BatchStats()

    async def submit(self, item: Any, cost: int) -> Any:
        """The result for ``item``; cancelling the caller removes the item if its batch has not started."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(item, max(1, cost), future))
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop())
        try:
            return await future
        except asyncio.CancelledError:
            if not future.done():
                future.cancel()
            raise

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._gather()
            taken, self._queue = self._queue, []
            live = self._drop_cancelled(taken)
            for group in buckets([p.cost for p in live], self._limits.max_batch_tokens, self._limits.max_batch_size):
                await self._run([live[i] for i in group])

    async def _gather(self) -> None:
        """Wait up to max_wait_ms for company, but only when the last batches were shared."""
        if self._recent_size < 1.5:
            return
        deadline = time.monotonic() + self._limits.max_wait_ms / 1000
        while time.monotonic() < deadline and sum(p.cost for p in self._queue) < self._limits.max_batch_tokens:
            await asyncio.sleep(0.0005)

    def _drop_cancelled(self, pending: list[_Pending]) -> list[_Pending]:
        live = [p for p in pending if not p.future.done()]
        self.stats.cancelled += len(pending) - len(live)
        return live

    async def _run(self, group: list[_Pending]) -> None:
        group = self._drop_cancelled(group)  # callers may have left while earlier buckets ran
        if not group:
            return
        loop = asyncio.get_running_loop()
        items = [p.item for p in group]
        self._record(group)
        try:
            results = await loop.run_in_executor(self._executor, self._run_batch, items)
        except Exception as exc:  # the whole batch failed: every caller gets the error
            for p in group:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        for p, result in zip(group, results, strict=True):
            if not p.future.done():
                p.future.set_result(result)

    def _record(self, group: list[_Pending]) -> None:
        self.stats.batches += 1
        self.stats.items += len(group)
        self.stats.real_tokens += sum(p.cost for p in group)
        self.stats.padded_tokens += len(group) * max(p.cost for p in group)
        self.stats.sizes = [*self.stats.sizes[-99:], len(group)]
        self._recent_size = 0.7 * self._recent_size + 0.3 * len(group)
