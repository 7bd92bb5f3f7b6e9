"""Server signing keys (spec §1.2): ES256, random key ids, persisted, rotatable.

Rotation makes a new key the signing key at once; retired keys stay in the JWKS until every token
they signed has expired, so live tokens keep verifying.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reference.core.clock import Clock, random_token
from reference.core.jose import public_jwk, sign_jws
from reference.core.records import SigningKeyRecord
from reference.storage.interface import Storage


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    public_key: ec.EllipticCurvePublicKey
    created_at: int
    retired_at: int | None

    def jwk(self) -> dict[str, Any]:
        return {**public_jwk(self.public_key), "kid": self.kid, "use": "sig", "alg": "ES256"}


def _load(record: SigningKeyRecord) -> SigningKey:
    private_key = serialization.load_pem_private_key(record.private_pem, password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"signing key {record.kid} is not an EC key")
    return SigningKey(
        record.kid, private_key, private_key.public_key(), record.created_at, record.retired_at
    )


# Other server processes share the key table: look for their rotations this often, and at
# most this often when a token names a key id we have not seen.
RELOAD_INTERVAL = 60.0
MISS_RELOAD_INTERVAL = 0.1


class Keyring:
    """Signing keys parsed once and cached; reloaded from storage after a rotation."""

    def __init__(self, storage: Storage, clock: Clock, *, publish_retired_for: int) -> None:
        self._storage = storage
        self._clock = clock
        self._publish_retired_for = publish_retired_for
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []
        self._loaded_at = 0.0
        self.reload()
        if not self.active_keys():
            self.rotate()

    def reload(self) -> None:
        with self._lock:
            known = {key.kid: key for key in self._keys}
            keys = []
            for record in self._storage.list_signing_keys():
                cached = known.get(record.kid)
                # Parse each key once; only its retirement can change afterwards.
                if cached is None:
                    keys.append(_load(record))
                else:
                    keys.append(replace(cached, retired_at=record.retired_at))
            self._keys = keys
            self._loaded_at = time.monotonic()

    def _reload_if_older_than(self, seconds: float) -> None:
        if time.monotonic() - self._loaded_at > seconds:
            self.reload()

    def active_keys(self) -> list[SigningKey]:
        return [key for key in self._keys if key.retired_at is None]

    def signing_key(self) -> SigningKey:
        self._reload_if_older_than(RELOAD_INTERVAL)
        return self.active_keys()[-1]

    def rotate(self) -> SigningKey:
        """Create a new signing key and retire the others (they stay published for a while)."""
        private_key = ec.generate_private_key(ec.SECP256R1())
        now = self._clock.now()
        record = SigningKeyRecord(
            kid=random_token(12),
            private_pem=private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            created_at=now,
        )
        previous = self.active_keys()
        self._storage.add_signing_key(record)
        for key in previous:
            self._storage.retire_signing_key(key.kid, now)
        self.reload()
        return self.signing_key()

    def verification_key(self, kid: str) -> SigningKey | None:
        key = self._find(kid)
        if key is None:
            self._reload_if_older_than(MISS_RELOAD_INTERVAL)
            key = self._find(kid)
        return key

    def _find(self, kid: str) -> SigningKey | None:
        for key in self._keys:
            if key.kid == kid:
                return key
        return None

    def published_keys(self) -> list[SigningKey]:
        self._reload_if_older_than(MISS_RELOAD_INTERVAL)
        now = self._clock.now()
        return [
            key
            for key in self._keys
            if key.retired_at is None or key.retired_at + self._publish_retired_for > now
        ]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self.published_keys()]}

    def sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        key = self.signing_key()
        return sign_jws({**header, "kid": key.kid}, claims, key.private_key)
