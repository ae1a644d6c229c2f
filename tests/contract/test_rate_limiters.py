"""The RateLimiter contract, run against every implementation: in memory always, Redis when
HUBSTEAD_TEST_REDIS_URL names a server (each test uses keys of its own)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from hubstead.ratelimit import InMemoryRateLimiter, RateLimiter

REDIS_URL = os.environ.get("HUBSTEAD_TEST_REDIS_URL")
BACKENDS = ["memory"] + (["redis"] if REDIS_URL else [])


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=BACKENDS)
def limiter(request: pytest.FixtureRequest, clock: Clock) -> Iterator[RateLimiter]:
    if request.param == "memory":
        yield InMemoryRateLimiter(clock=clock)
        return
    from hubstead.ratelimit.redis import RedisRateLimiter

    assert REDIS_URL is not None
    prefix = f"hubstead-test:{uuid.uuid4().hex}:"
    redis_limiter = RedisRateLimiter(REDIS_URL, clock=clock, prefix=prefix)
    try:
        yield redis_limiter
    finally:
        for key in redis_limiter.client.scan_iter(match=prefix + "*"):
            redis_limiter.client.delete(key)
        redis_limiter.close()


def test_hits_are_allowed_up_to_the_limit_then_refused(limiter: RateLimiter) -> None:
    decisions = [limiter.hit("k", 3, 60) for _ in range(5)]

    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert {d.limit for d in decisions} == {3}


def test_reset_tells_the_seconds_left_in_the_window(limiter: RateLimiter, clock: Clock) -> None:
    clock.now = 600.0 + 15.5  # windows of 60 s start at multiples of 60

    assert limiter.hit("k", 3, 60).reset == 45


def test_a_new_window_starts_afresh(limiter: RateLimiter, clock: Clock) -> None:
    for _ in range(4):
        limiter.hit("k", 3, 60)
    clock.now += 60

    assert limiter.hit("k", 3, 60).allowed


def test_keys_are_counted_apart(limiter: RateLimiter) -> None:
    for _ in range(3):
        limiter.hit("a", 3, 60)

    assert not limiter.hit("a", 3, 60).allowed
    assert limiter.hit("b", 3, 60).allowed


def test_peek_does_not_count(limiter: RateLimiter) -> None:
    limiter.hit("k", 2, 60)
    for _ in range(5):
        assert limiter.peek("k", 2, 60).allowed
    limiter.hit("k", 2, 60)

    assert not limiter.peek("k", 2, 60).allowed


def test_reset_forgets_the_window(limiter: RateLimiter) -> None:
    for _ in range(3):
        limiter.hit("k", 2, 60)
    limiter.reset("k", 60)

    assert limiter.hit("k", 2, 60).allowed
