"""Rate limits on what a stranger can trigger, applied at the HTTP edge (spec §10.1)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app, request

from reference.core.clock import Clock
from reference.core.errors import RateLimited
from reference.core.rate_limit import Limit, RateLimiter

DEFAULT_LIMITS: dict[str, Limit] = {
    # Each nonce is a database row: cap how fast one address can create them.
    "registration_nonce": Limit(burst=600, per_minute=600),
    # Wrong relying-party secrets, per address: secrets are high-entropy, so this only has to
    # stop bulk guessing, while leaving room for conformance runs that send junk credentials.
    "relying_party_failure": Limit(burst=100, per_minute=60),
    # Wrong demo-site passwords, per address and per user name.
    "password_failure_address": Limit(burst=30, per_minute=10),
    "password_failure_user": Limit(burst=5, per_minute=2),
}


def build_limiters(overrides: Mapping[str, Limit], clock: Clock) -> dict[str, RateLimiter]:
    limits = {**DEFAULT_LIMITS, **overrides}
    return {name: RateLimiter(limit, clock) for name, limit in limits.items()}


def limiter(name: str) -> RateLimiter:
    limiters: dict[str, RateLimiter] = current_app.extensions["mia_rate_limiters"]
    return limiters[name]


def client_address() -> str:
    return request.remote_addr or "unknown"


def charge(name: str, key: str | None = None) -> None:
    """Charge one request to the bucket; refuse with 429 when it is empty."""
    wait = limiter(name).take(key or client_address())
    if wait:
        raise RateLimited("too many requests; try again later", retry_after=wait)


def refuse_if_exhausted(name: str, key: str | None = None) -> None:
    """Before an attempt whose failures are limited: refuse while the bucket is empty."""
    wait = limiter(name).retry_after(key or client_address())
    if wait:
        raise RateLimited("too many failed attempts; try again later", retry_after=wait)


def charge_failure(name: str, key: str | None = None) -> None:
    limiter(name).take(key or client_address())
