"""Everything the protocol core needs to run: settings, storage, keys, policy, clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from reference.core.clock import Clock
from reference.core.keys import Keyring
from reference.core.policy import PolicySource
from reference.storage.interface import Storage


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """Seconds each artefact lives (spec §2.3, §4.2, §5.2, §5.5, §7.1)."""

    registration_nonce: int = 120
    enrollment_code: int = 300
    login_challenge: int = 60
    access_token: int = 300
    refresh_token_idle: int = 8 * 3600
    refresh_family: int = 30 * 24 * 3600
    client_assertion_max: int = 300
    dpop_iat_window: int = 60
    clock_skew: int = 60


@dataclass(frozen=True, slots=True)
class Settings:
    issuer: str
    resources: tuple[str, ...]
    default_scope: str = "openid profile accounts"
    allowed_scopes: frozenset[str] = frozenset({"openid", "profile", "accounts"})
    lifetimes: Lifetimes = field(default_factory=Lifetimes)

    def endpoint(self, path: str) -> str:
        return self.issuer + path


@dataclass(slots=True)
class ServerContext:
    """The dependencies every core function receives, injected by the app factory or a test."""

    settings: Settings
    storage: Storage
    keyring: Keyring
    policy: PolicySource
    clock: Clock
    trusted_attestation_roots: list[x509.Certificate]
