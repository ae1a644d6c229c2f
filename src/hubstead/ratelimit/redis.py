"""RedisRateLimiter: counters in Redis, shared by every replica (``pip install 'hubstead[redis]'``).

One key per (key, window): INCR, and EXPIRE so that Redis forgets it after the window ends."""

from __future__ import annotations

import time
from typing import Any

from hubstead.ratelimit.base import Clock, Decision, decide, window_of

PREFIX = "hubstead:ratelimit:"


class RedisRateLimiter:
    blocking = True

    def __init__(self, url: str, clock: Clock = time.time, prefix: str = PREFIX) -> None:
        import redis  # an optional dependency: imported only when this backend is configured

        self.client: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.clock = clock
        self.prefix = prefix

    def _key(self, key: str, index: int) -> str:
        return f"{self.prefix}{key}:{index}"

    def hit(self, key: str, limit: int, window: int) -> Decision:
        index, reset = window_of(self.clock(), window)
        name = self._key(key, index)
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expire(name, window + 1)
        count, _ = pipe.execute()
        return decide(int(count), limit, reset, counted=True)

    def peek(self, key: str, limit: int, window: int) -> Decision:
        index, reset = window_of(self.clock(), window)
        value = self.client.get(self._key(key, index))
        return decide(int(value or 0), limit, reset, counted=False)

    def reset(self, key: str, window: int) -> None:
        index, _ = window_of(self.clock(), window)
        self.client.delete(self._key(key, index))

    def close(self) -> None:
        self.client.close()
