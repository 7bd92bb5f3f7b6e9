"""Compact JWS with ES256 only (RFC 7515, RFC 7518 §3.4), JWK (RFC 7517) and thumbprints (RFC 7638).

Only what MIA needs, so every accepted input is easy to reason about: one algorithm (ES256),
explicit `typ` checks left to the callers' verifiers, raw r||s signatures, and the
CVE-2022-21449 guard (r or s zero or not below the group order) applied before OpenSSL sees them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

ES256 = "ES256"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
MAX_TOKEN_LENGTH = 16_384


class JoseError(ValueError):
    """A token or key is malformed or its signature does not verify."""


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    if not isinstance(text, str) or "=" in text:
        raise JoseError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JoseError("not base64url") from exc


def _json_segment(data: dict[str, Any]) -> str:
    return b64u_encode(json.dumps(data, separators=(",", ":"), sort_keys=False).encode())


@dataclass(frozen=True, slots=True)
class DecodedJws:
    """A compact JWS split into its parts; nothing in it has been verified yet."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def decode_unverified(token: str) -> DecodedJws:
    """Split and parse a compact JWS (RFC 7515 §7.1). Raises JoseError on any malformation."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise JoseError("token missing or too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise JoseError("not a compact JWS")
    try:
        header = json.loads(b64u_decode(parts[0]))
        claims = json.loads(b64u_decode(parts[1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise JoseError("header or payload is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JoseError("header and payload must be JSON objects")
    signature = b64u_decode(parts[2])
    return DecodedJws(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def es256_sign(signing_input: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    r, s = decode_dss_signature(key.sign(signing_input, _ECDSA_SHA256))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def es256_verify(signing_input: bytes, signature: bytes, key: ec.EllipticCurvePublicKey) -> bool:
    """Verify a raw r||s ES256 signature (RFC 7518 §3.4)."""
    if len(signature) != 64:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    # CVE-2022-21449 ("psychic signatures"): r and s MUST lie in [1, n-1].
    if not (0 < r < P256_ORDER and 0 < s < P256_ORDER):
        return False
    try:
        key.verify(encode_dss_signature(r, s), signing_input, _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True


def sign_jws(
    header: dict[str, Any], claims: dict[str, Any], key: ec.EllipticCurvePrivateKey
) -> str:
    """Serialise and sign a compact JWS; `header` gets `alg: ES256` unless it names one."""
    full_header = {"alg": ES256, **header}
    signing_input = f"{_json_segment(full_header)}.{_json_segment(claims)}"
    return f"{signing_input}.{b64u_encode(es256_sign(signing_input.encode('ascii'), key))}"


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64u_encode(numbers.x.to_bytes(32, "big")),
        "y": b64u_encode(numbers.y.to_bytes(32, "big")),
    }


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of an EC public JWK (required members in lexical order)."""
    canonical = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]},
        separators=(",", ":"),
    )
    return b64u_encode(hashlib.sha256(canonical.encode()).digest())


def public_members(jwk: dict[str, Any]) -> dict[str, Any]:
    """The members that define an EC public key; anything else (kid, use, d) is dropped."""
    return {name: jwk[name] for name in ("kty", "crv", "x", "y") if name in jwk}


def public_key_from_jwk(jwk: Any) -> ec.EllipticCurvePublicKey:
    """Parse a P-256 public JWK, refusing private members and off-curve points."""
    if not isinstance(jwk, dict):
        raise JoseError("jwk must be an object")
    if "d" in jwk:
        raise JoseError("jwk contains a private key")
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise JoseError("only EC P-256 keys are accepted")
    x, y = jwk.get("x"), jwk.get("y")
    if not isinstance(x, str) or not isinstance(y, str):
        raise JoseError("jwk lacks x or y")
    return _public_key_from_coordinates(x, y)


@lru_cache(maxsize=65_536)
def _public_key_from_coordinates(x: str, y: str) -> ec.EllipticCurvePublicKey:
    # Parsing a point costs about as much as a verification: cache parsed keys.
    x_bytes, y_bytes = b64u_decode(x), b64u_decode(y)
    if len(x_bytes) != 32 or len(y_bytes) != 32:
        raise JoseError("P-256 coordinates must be 32 bytes")
    try:
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(x_bytes, "big"), int.from_bytes(y_bytes, "big"), ec.SECP256R1()
        )
        return numbers.public_key()
    except ValueError as exc:
        raise JoseError("point is not on P-256") from exc


def verify_es256_jws(token: str, key: ec.EllipticCurvePublicKey) -> DecodedJws:
    """Decode a JWS and verify its ES256 signature; callers still check `typ` and claims."""
    decoded = decode_unverified(token)
    if decoded.header.get("alg") != ES256:
        raise JoseError("alg must be ES256")
    if not es256_verify(decoded.signing_input, decoded.signature, key):
        raise JoseError("signature does not verify")
    return decoded


def constant_time_equal(a: str, b: str) -> bool:
    """Compare secrets and digests without leaking where they differ."""
    return hmac.compare_digest(a.encode(), b.encode())
