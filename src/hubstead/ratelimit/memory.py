"""InMemoryRateLimiter: counters in this process (a single-process hub, or tests)."""

from __future__ import annotations

import threading
import time

from hubstead.ratelimit.base import Clock, Decision, decide, window_of

MAX_KEYS = 100_000  # past this, counters of ended windows are dropped


class InMemoryRateLimiter:
    blocking = False

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window index, hits)
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: int) -> Decision:
        index, reset = window_of(self.clock(), window)
        with self._lock:
            if len(self._counts) > MAX_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if v[0] >= index}
            start, count = self._counts.get(key, (index, 0))
            count = count + 1 if start == index else 1
            self._counts[key] = (index, count)
        return decide(count, limit, reset, counted=True)

    def peek(self, key: str, limit: int, window: int) -> Decision:
        index, reset = window_of(self.clock(), window)
        with self._lock:
            start, count = self._counts.get(key, (index, 0))
        return decide(count if start == index else 0, limit, reset, counted=False)

    def reset(self, key: str, window: int) -> None:
        with self._lock:
            self._counts.pop(key, None)

    def close(self) -> None:
        pass
