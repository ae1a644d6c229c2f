"""The dynamic batcher and the model cache, with plain functions standing in for models (no torch)."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from hubstead.errors import ModelLoadingError, ModelNotRunnableError
from hubstead.inference.batching import BatchLimits, DynamicBatcher, buckets
from hubstead.inference.cache import ModelCache, ModelKey


def test_buckets_group_similar_lengths_within_the_token_budget() -> None:
    groups = buckets([5, 100, 6, 98, 7], max_tokens=300, max_size=64)
    assert groups == [[0, 2, 4], [3, 1]]  # short ones together; the two long ones pad only to each other


def test_a_bucket_is_closed_rather_than_padded_mostly_with_nothing() -> None:
    costs = [10] * 8 + [60] * 8
    assert buckets(costs, max_tokens=100_000, max_size=64) == [list(range(8)), list(range(8, 16))]
    assert buckets([10] * 4 + [60], max_tokens=100_000, max_size=64) == [[0, 1, 2, 3, 4]]  # too few to split


def test_a_single_item_larger_than_the_budget_still_runs_alone() -> None:
    assert buckets([10_000, 3], max_tokens=100, max_size=8) == [[1], [0]]


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_requests_that_arrive_while_a_batch_runs_share_the_next_forward_pass() -> None:
    sizes: list[int] = []

    def forward(items: list[int]) -> list[int]:
        sizes.append(len(items))
        time.sleep(0.05)
        return [i * 2 for i in items]

    async def scenario() -> list[int]:
        batcher = DynamicBatcher(forward, ThreadPoolExecutor(1), BatchLimits())
        results = await asyncio.gather(*(batcher.submit(i, 1) for i in range(20)))
        await batcher.close()
        return list(results)

    assert _run(scenario()) == [i * 2 for i in range(20)]
    assert len(sizes) <= 2  # not one pass per request
    assert sum(sizes) == 20


def test_a_cancelled_request_is_dropped_before_its_batch_runs() -> None:
    seen: list[int] = []
    release = threading.Event()

    def forward(items: list[int]) -> list[int]:
        seen.extend(items)
        release.wait(5)
        return items

    async def scenario() -> int:
        batcher = DynamicBatcher(forward, ThreadPoolExecutor(1), BatchLimits())
        first = asyncio.ensure_future(batcher.submit(1, 1))
        await asyncio.sleep(0.05)  # batch [1] is running
        doomed = asyncio.ensure_future(batcher.submit(2, 1))
        kept = asyncio.ensure_future(batcher.submit(3, 1))
        await asyncio.sleep(0.01)
        doomed.cancel()  # its caller went away while it queued
        release.set()
        await asyncio.gather(first, kept)
        await batcher.close()
        return batcher.stats.cancelled

    assert _run(scenario()) == 1
    assert seen == [1, 3]


def test_cache_evicts_the_least_recently_used_model_to_stay_within_budget() -> None:
    unloaded: list[str] = []

    def load(key: ModelKey) -> tuple[str, int]:
        return key.repo_id, 40

    async def scenario() -> list[str]:
        cache = ModelCache(load, unloaded.append, budget_bytes=100)
        for name in ("a", "b", "a", "c"):  # a is used again after b: b is the least recently used
            model = await cache.acquire(ModelKey(name, "sha"), wait_seconds=5)
            cache.release(model)
        return [m.key.repo_id for m in cache.loaded()]

    assert sorted(_run(scenario())) == ["a", "c"]
    assert unloaded == ["b"]


def test_cache_refuses_a_model_beyond_its_budget() -> None:
    async def scenario() -> None:
        cache = ModelCache(lambda key: ("big", 500), lambda payload: None, budget_bytes=100)
        await cache.acquire(ModelKey("big", "sha"), wait_seconds=5)

    with pytest.raises(ModelNotRunnableError):
        _run(scenario())


def test_a_caller_that_will_not_wait_is_told_how_long_loading_takes() -> None:
    def slow(key: ModelKey) -> tuple[str, int]:
        time.sleep(0.3)
        return "m", 1

    async def scenario() -> float:
        cache = ModelCache(slow, lambda payload: None, budget_bytes=100)
        try:
            await cache.acquire(ModelKey("m", "sha"), wait_seconds=0)
        except ModelLoadingError as exc:
            await cache.acquire(ModelKey("m", "sha"), wait_seconds=5)  # the same load, shared
            return exc.estimated_time
        raise AssertionError("no ModelLoadingError")

    assert _run(scenario()) > 0


def test_the_hub_imports_nothing_of_the_inference_extra() -> None:
    import subprocess
    import sys

    code = "import sys, hubstead.app, hubstead.cli.main; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
