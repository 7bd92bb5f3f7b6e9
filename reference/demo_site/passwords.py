"""Password hashing for the demo users (scrypt, RFC 7914), compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from reference.core.jose import b64u_decode, b64u_encode

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${b64u_encode(salt)}${b64u_encode(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(
            password.encode(), salt=b64u_decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate, b64u_decode(digest))


@cache
def dummy_hash() -> str:
    """Verified against when the user name is unknown, so both paths cost the same."""
    return hash_password(secrets.token_urlsafe(16))
