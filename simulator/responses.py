"""What the server hands the app back from the user flows: tokens and API answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TokenSet:
    """What `/token` answered (spec §5)."""

    access_token: str
    refresh_token: str | None
    expires_in: int
    scope: str | None
    token_type: str = "DPoP"  # noqa: S105 - a token type name
    issued_at: float = 0.0

    @classmethod
    def from_response(cls, body: Mapping[str, Any], *, now: float) -> TokenSet:
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token"),
            expires_in=int(body.get("expires_in", 0)),
            scope=body.get("scope"),
            token_type=str(body.get("token_type", "DPoP")),
            issued_at=now,
        )

    def expired(self, now: float) -> bool:
        return now >= self.issued_at + self.expires_in


@dataclass(frozen=True)
class ApiResponse:
    """An answer of the protected API (spec §9)."""

    status: int
    json: Any
    headers: Mapping[str, str] = field(default_factory=dict)
