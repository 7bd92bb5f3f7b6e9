"""Rate limits for what a stranger can trigger (token buckets, per process).

Two uses: charge every request (`take`: nonce issuance, which writes to the database), or charge
only failed attempts (`take` after a failure, `retry_after` checked before each attempt: passwords,
relying-party secrets), so guessing slows to the refill rate while honest users never notice.
Buckets live in memory: behind a load balancer each process enforces its own share.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from reference.core.clock import Clock

MAX_TRACKED_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class Limit:
    burst: int
    per_minute: float

    @property
    def refill_per_second(self) -> float:
        return self.per_minute / 60.0


class RateLimiter:
    def __init__(self, limit: Limit, clock: Clock) -> None:
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, int]] = {}  # key -> (tokens, at)

    def _tokens(self, key: str, now: int) -> float:
        tokens, at = self._buckets.get(key, (float(self.limit.burst), now))
        return min(float(self.limit.burst), tokens + (now - at) * self.limit.refill_per_second)

    def _wait(self, tokens: float) -> int:
        """Seconds until one token is available; 0 when one is available now."""
        if tokens >= 1:
            return 0
        return max(1, math.ceil((1 - tokens) / self.limit.refill_per_second))

    def retry_after(self, key: str) -> int:
        with self._lock:
            return self._wait(self._tokens(key, self._clock.now()))

    def take(self, key: str) -> int:
        """Charge one request; returns 0 if allowed, else the seconds to wait."""
        now = self._clock.now()
        with self._lock:
            tokens = self._tokens(key, now)
            if tokens < 1:
                return self._wait(tokens)
            if len(self._buckets) >= MAX_TRACKED_KEYS:
                self._forget_full_buckets(now)
            self._buckets[key] = (tokens - 1, now)
        return 0

    def _forget_full_buckets(self, now: int) -> None:
        full = [key for key in self._buckets if self._tokens(key, now) >= self.limit.burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= MAX_TRACKED_KEYS:
            self._buckets.clear()  # under a flood of distinct keys, start over rather than grow
