"""Crafting JWS for negative tests: valid messages changed in exactly one place.

Overrides are dicts merged over a valid header or claim set; the value `DROP` removes a member.
The attacks the suite tries (alg `none`, HS256 key confusion, r = s = 0, one flipped byte) are
built here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reference.core.jose import b64u_decode as b64u_decode
from reference.core.jose import b64u_encode as b64u_encode
from reference.core.jose import es256_sign
from reference.core.jose import jwk_thumbprint as jwk_thumbprint
from reference.core.jose import public_jwk as public_jwk


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Final = _Drop()
Dropped = _Drop
Overrides = Mapping[str, Any]
Signer = Callable[[bytes], bytes]


def now() -> int:
    return int(time.time())


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def merge(base: dict[str, Any], overrides: Overrides | None) -> dict[str, Any]:
    result = dict(base)
    for name, value in (overrides or {}).items():
        if value is DROP:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def segment(data: Any) -> str:
    return b64u_encode(json.dumps(data, separators=(",", ":")).encode())


def encode_jws(
    header: dict[str, Any], claims: dict[str, Any], key: ec.EllipticCurvePrivateKey | None
) -> str:
    """Compact JWS with exactly the given header (no `alg` added); ES256 by `key`, or unsigned."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = es256_sign(signing_input.encode("ascii"), key) if key is not None else b""
    return f"{signing_input}.{b64u_encode(signature)}"


def split(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """Header, claims and signature of a compact JWS, unverified."""
    head, body, sig = token.split(".")
    return json.loads(b64u_decode(head)), json.loads(b64u_decode(body)), b64u_decode(sig)


def resign_unsigned(token: str, header_overrides: Overrides) -> str:
    """The same claims under a changed header with an empty signature (alg `none` attacks)."""
    header, claims, _ = split(token)
    return f"{segment(merge(header, header_overrides))}.{segment(claims)}."


def hs256_with_secret(token: str, secret: bytes, header_overrides: Overrides | None = None) -> str:
    """Re-sign a token's claims with HS256 using `secret` (the key-confusion attack)."""
    header, claims, _ = split(token)
    signing_input = (
        f"{segment(merge(header, {'alg': 'HS256', **(header_overrides or {})}))}.{segment(claims)}"
    )
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64u_encode(mac)}"


def zero_signature(token: str) -> str:
    """The CVE-2022-21449 'psychic signature': r = s = 0."""
    head, body, _ = token.split(".")
    return f"{head}.{body}.{b64u_encode(bytes(64))}"


def flip_byte(token: str, part: int, index: int, mask: int) -> str:
    """XOR one decoded byte of part 0 (header), 1 (payload) or 2 (signature) with `mask` != 0."""
    parts = token.split(".")
    raw = bytearray(b64u_decode(parts[part]))
    raw[index % len(raw)] ^= mask & 0xFF or 1
    parts[part] = b64u_encode(bytes(raw))
    return ".".join(parts)


def public_key_pem(jwk: Mapping[str, Any]) -> bytes:
    """SubjectPublicKeyInfo PEM of an EC public JWK: the HMAC secret of the key-confusion attack."""
    x = int.from_bytes(b64u_decode(jwk["x"]), "big")
    y = int.from_bytes(b64u_decode(jwk["y"]), "big")
    key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
