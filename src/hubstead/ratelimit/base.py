"""The RateLimiter interface: fixed windows of ``window`` seconds, at most ``limit`` hits per key in each."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Clock = Callable[[], float]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # whole seconds until the current window ends (at least 1)


class RateLimiter(Protocol):
    """Counts hits per key. ``blocking`` implementations do network I/O: call them from a worker thread."""

    blocking: bool

    def hit(self, key: str, limit: int, window: int) -> Decision:
        """Count one hit and say whether it is within the limit (a refused hit still counts)."""
        ...

    def peek(self, key: str, limit: int, window: int) -> Decision:
        """Whether one more hit would be allowed, without counting it."""
        ...

    def reset(self, key: str, window: int) -> None:
        """Forget the key's hits in the current window."""
        ...

    def close(self) -> None: ...


def window_of(now: float, window: int) -> tuple[int, int]:
    """(index of the window ``now`` falls in, whole seconds until it ends)."""
    index = int(now // window)
    return index, max(1, math.ceil((index + 1) * window - now))


def decide(count: int, limit: int, reset: int, *, counted: bool) -> Decision:
    """``count`` hits so far in the window (this one included if ``counted``)."""
    allowed = count <= limit if counted else count < limit
    return Decision(allowed=allowed, limit=limit, remaining=max(0, limit - count), reset=reset)
