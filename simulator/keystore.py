"""The phone's secure hardware, simulated: non-exportable P-256 keys addressed by alias.

Android Keystore / iOS Secure Enclave keys never leave the hardware: the app can ask for a
signature or the public key, never for the private key. This class offers the same surface.
A copy of the app storage (`AppStorage.clone()`) does not include these keys, which is exactly
the attacker model of spec §5.1.

To model hardware that survives an app restart, `save(path)` / `load(path)` persist the keys to a
separate file (the simulated secure element); the CLI uses it, tests usually do not.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reference.core.jose import es256_sign, jwk_thumbprint, public_jwk


class KeystoreError(KeyError):
    """No key under that alias."""


class Keystore:
    """Non-exportable ES256 keys by alias (`client`, `dpop`, ...)."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: dict[str, ec.EllipticCurvePrivateKey] = {}

    def __repr__(self) -> str:
        return f"Keystore(aliases={sorted(self._keys)!r})"

    def __contains__(self, alias: object) -> bool:
        return alias in self._keys

    def aliases(self) -> list[str]:
        return sorted(self._keys)

    def generate(self, alias: str) -> dict[str, str]:
        """Create (or replace) the P-256 key under `alias`; returns its public JWK."""
        self._keys[alias] = ec.generate_private_key(ec.SECP256R1())
        return self.public_jwk(alias)

    def rename(self, alias: str, new_alias: str) -> None:
        """Move a key to another alias (replacing what was there); the key stays inside."""
        self._keys[new_alias] = self._key(alias)
        del self._keys[alias]

    def delete(self, alias: str) -> None:
        self._keys.pop(alias, None)

    def _key(self, alias: str) -> ec.EllipticCurvePrivateKey:
        try:
            return self._keys[alias]
        except KeyError:
            raise KeystoreError(f"no key with alias {alias!r} in the keystore") from None

    def sign(self, alias: str, data: bytes) -> bytes:
        """ES256 signature over `data` as raw r||s (64 bytes, RFC 7518 §3.4)."""
        return es256_sign(data, self._key(alias))

    def public_jwk(self, alias: str) -> dict[str, str]:
        return public_jwk(self._key(alias).public_key())

    def thumbprint(self, alias: str) -> str:
        """RFC 7638 thumbprint of the public key (fine for DPoP `jkt`; not for the PIN key)."""
        return jwk_thumbprint(self.public_jwk(alias))

    # -- persistence of the simulated secure element (separate from app storage) --------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the keys to `path` (mode 0600): the secure hardware surviving a restart."""
        data = {
            alias: key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode("ascii")
            for alias, key in self._keys.items()
        }
        target = Path(path)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Keystore:
        keystore = cls()
        target = Path(path)
        if not target.exists():
            return keystore
        data = json.loads(target.read_text(encoding="utf-8"))
        for alias, pem in data.items():
            key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"keystore entry {alias!r} is not an EC key")
            keystore._keys[alias] = key
        return keystore
