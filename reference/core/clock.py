"""Injected time and randomness, so tests can move the clock and replay exact values."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Protocol

from reference.core.jose import b64u_encode


class Clock(Protocol):
    def now(self) -> int: ...


class SystemClock:
    def now(self) -> int:
        return int(time.time())


class FrozenClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: int) -> None:
        self.current = start

    def now(self) -> int:
        return self.current

    def advance(self, seconds: int) -> None:
        self.current += seconds


def random_token(num_bytes: int = 32) -> str:
    """A URL-safe random value with `num_bytes` of entropy."""
    return b64u_encode(secrets.token_bytes(num_bytes))


def secret_hash(value: str) -> str:
    """How high-entropy secrets (codes, refresh tokens, nonces) are stored: SHA-256, hex."""
    return hashlib.sha256(value.encode()).hexdigest()
