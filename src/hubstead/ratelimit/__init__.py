"""Rate limiters: fixed-window counters behind one interface, in memory (one process) or in Redis (shared by
every replica). Adapters: they count keys and know nothing of tokens, users or HTTP."""

from hubstead.ratelimit.base import Decision, RateLimiter
from hubstead.ratelimit.memory import InMemoryRateLimiter

__all__ = ["Decision", "InMemoryRateLimiter", "RateLimiter"]
