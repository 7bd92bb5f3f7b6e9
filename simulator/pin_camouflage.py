"""Cryptographic camouflage of the PIN-protected key (spec §5.1; Hoover & Kausik, 1999).

The device stores only `salt` (16 random bytes) and `masked = (d + k) mod n`, where
`k = int(HKDF-SHA256(ikm=PIN, salt=salt, info="mia pin camouflage v1", L=48)) mod n`, `d` is the
private scalar and `n` the P-256 group order. Unmasking with any PIN gives *some* valid scalar,
so a copy of the storage offers no offline test of a PIN guess: the public key is never on the
device, and only the server (which counts failures) can tell a right signature from a wrong one.

The 48-byte HKDF output reduced mod n has a bias below 2^-128 (FIPS 186-5 A.2.1 style).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reference.core.jose import P256_ORDER

INFO = b"mia pin camouflage v1"
SALT_LENGTH = 16
HKDF_LENGTH = 48
SCALAR_LENGTH = 32


class CamouflageError(ValueError):
    """The recovered scalar is zero (probability about 2^-256) or inputs are malformed."""


def _mask(pin: str, salt: bytes) -> int:
    okm = HKDF(algorithm=hashes.SHA256(), length=HKDF_LENGTH, salt=salt, info=INFO).derive(
        pin.encode("utf-8")
    )
    return int.from_bytes(okm, "big") % P256_ORDER


def protect(
    private_scalar: int,
    pin: str,
    *,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> tuple[bytes, bytes]:
    """Camouflage `private_scalar` under `pin`; returns `(salt, masked)` (16 and 32 bytes)."""
    if not 0 < private_scalar < P256_ORDER:
        raise CamouflageError("private scalar out of range")
    salt = random_bytes(SALT_LENGTH)
    if len(salt) != SALT_LENGTH:
        raise CamouflageError("salt must be 16 bytes")
    masked = (private_scalar + _mask(pin, salt)) % P256_ORDER
    return salt, masked.to_bytes(SCALAR_LENGTH, "big")


def recover_scalar(salt: bytes, masked: bytes, pin: str) -> int:
    """Unmask with `pin`; any PIN gives a scalar in [1, n-1] (zero raises CamouflageError)."""
    if len(masked) != SCALAR_LENGTH:
        raise CamouflageError("masked key must be 32 bytes")
    value = int.from_bytes(masked, "big")
    if value >= P256_ORDER:
        raise CamouflageError("masked key out of range")
    scalar = (value - _mask(pin, salt)) % P256_ORDER
    if scalar == 0:
        raise CamouflageError("PIN yields the zero scalar")  # astronomically unlikely
    return scalar


def recover(salt: bytes, masked: bytes, pin: str) -> ec.EllipticCurvePrivateKey:
    """The key this PIN unlocks: the right one for the right PIN, a valid decoy otherwise."""
    return ec.derive_private_key(recover_scalar(salt, masked, pin), ec.SECP256R1())


def private_scalar(key: ec.EllipticCurvePrivateKey) -> int:
    return key.private_numbers().private_value
