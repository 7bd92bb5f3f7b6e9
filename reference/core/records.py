"""Records the protocol core keeps in storage (frozen, storage-agnostic)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A registered app installation (spec §2.6)."""

    client_id: str
    public_jwk: dict[str, Any]
    app_id: str
    app_version: str
    os_name: str
    os_version: str
    device_verdict: tuple[str, ...]
    created_at: int
    status: str = "active"


@dataclass(frozen=True, slots=True)
class NonceUse:
    """What consuming a single-use value found: its owner, expiry and how often it was used."""

    owner: str
    expires_at: int
    uses: int


@dataclass(frozen=True, slots=True)
class EnrollmentRecord:
    enrollment_id: str
    relying_party: str
    user_id: str
    display_name: str
    code_hash: str
    created_at: int
    expires_at: int
    status: str = "pending"
    code_uses: int = 0
    client_id: str | None = None
    session_hash: str | None = None
    completed_at: int | None = None
    authenticator_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuthenticatorRecord:
    authenticator_id: str
    client_id: str
    user_id: str
    kind: str
    public_jwk: dict[str, Any]
    created_at: int
    failures: int = 0
    status: str = "active"


@dataclass(frozen=True, slots=True)
class RefreshFamily:
    """One login's chain of rotated refresh tokens (RFC 9700 §4.14.2)."""

    family_id: str
    client_id: str
    user_id: str
    authenticator_id: str
    jkt: str
    scope: str
    resource: str
    amr: tuple[str, ...]
    auth_time: int
    created_at: int
    expires_at: int
    revoked_at: int | None = None


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    token_hash: str
    family_id: str
    issued_at: int
    expires_at: int
    used_at: int | None = None


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    kid: str
    private_pem: bytes
    created_at: int
    retired_at: int | None = None


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    display_name: str
    password_hash: str
