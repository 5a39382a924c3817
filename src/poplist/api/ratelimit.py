"""Rate limits per API token: a token bucket in each web worker process.

A token may make `POPLIST_API_BURST` requests at once, then `POPLIST_API_RATE` per second
on average; past that the answer is 429 with Retry-After. The buckets live in the memory of
each web worker process (no database write per request), so with N workers a token's
ceiling is N times the rate: the limit protects the service from a runaway client, it is
not a billing meter.
"""

from __future__ import annotations

import math
import threading
import time

from django.http import HttpRequest
from ninja.throttling import BaseThrottle

from poplist import config


class TokenBucket:
    """`capacity` requests at once, refilled at `rate` per second; thread-safe."""

    def __init__(self, rate: float, capacity: float, clock=time.monotonic) -> None:
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self._buckets: dict[object, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: object) -> float:
        """0 when the request may go on, else the seconds to wait before one will be allowed."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > 100_000:  # forget full buckets: they hold no information
                self._forget_full(now)
            return (1 - tokens) / self.rate if self.rate > 0 else 3600.0

    def _forget_full(self, now: float) -> None:
        for key, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate >= self.capacity:
                del self._buckets[key]


class TokenRateThrottle(BaseThrottle):
    """django-ninja throttle: one bucket per API token (checked after authentication)."""

    def __init__(self, bucket: TokenBucket | None = None) -> None:
        self.bucket = bucket
        self._local = threading.local()  # one instance serves every thread: the wait is per request

    def current_bucket(self) -> TokenBucket:
        if self.bucket is None:
            self.bucket = TokenBucket(float(config.get("api_rate")), float(config.get("api_burst")))
        return self.bucket

    def allow_request(self, request: HttpRequest) -> bool:
        token = getattr(request, "auth", None)
        if token is None:
            return True
        self._local.wait = self.current_bucket().take(token.pk)
        return self._local.wait == 0

    def wait(self) -> float | None:
        return max(1, math.ceil(getattr(self._local, "wait", 1)))
