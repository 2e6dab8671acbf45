"""A token bucket per user, shared by the HTTP and WebSocket APIs (CrossTrade: 3 requests a
second sustained, bursts of 20)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """``take(key)`` spends one token of ``key``'s bucket: None when allowed, else the seconds
    until a token is back. Rates are requests per second; ``enabled=False`` allows all."""

    def __init__(
        self,
        rate: int = 3,
        burst: int = 20,
        *,
        enabled: bool = True,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.rate, self.burst, self.enabled = rate, burst, enabled
        self._now = now
        self._buckets: dict[object, _Bucket] = {}

    def take(self, key: object) -> float | None:
        if not self.enabled:
            return None
        now = self._now()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        # Seconds of refill, not money: a float is the right tool for a token count.
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self.rate
