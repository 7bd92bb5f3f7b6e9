"""Token buckets: a burst, then the refill rate; buckets are per key."""

from __future__ import annotations

from reference.core.clock import FrozenClock
from reference.core.rate_limit import Limit, RateLimiter


def test_burst_then_refill() -> None:
    clock = FrozenClock(1_000)
    limiter = RateLimiter(Limit(burst=3, per_minute=6), clock)
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a") == 10  # one token every 10 s
    assert limiter.take("b") == 0  # another key has its own bucket
    clock.advance(10)
    assert limiter.retry_after("a") == 0
    assert limiter.take("a") == 0
    assert limiter.take("a") > 0
    clock.advance(3600)
    assert [limiter.take("a") for _ in range(4)] == [0, 0, 0, 10]  # never more than the burst
