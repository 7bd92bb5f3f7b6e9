"""JWT access tokens (spec §5.5; RFC 9068), sender-constrained with DPoP (RFC 9449 §6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reference.core.clock import random_token
from reference.core.jose import JoseError, decode_unverified, es256_verify
from reference.core.settings import ServerContext

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 - a media type, not a secret


@dataclass(frozen=True, slots=True)
class AccessTokenGrant:
    """Who and what an access token is for."""

    user_id: str
    client_id: str
    scope: str
    resource: str
    jkt: str
    amr: tuple[str, ...]
    auth_time: int


def issue_access_token(ctx: ServerContext, grant: AccessTokenGrant) -> tuple[str, int]:
    """RFC 9068 §2.2 claims plus `cnf.jkt` (RFC 9449 §6.1). Returns (token, expires_in)."""
    now = ctx.clock.now()
    lifetime = ctx.settings.lifetimes.access_token
    claims = {
        "iss": ctx.settings.issuer,
        "sub": grant.user_id,
        "aud": grant.resource,
        "client_id": grant.client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": random_token(16),
        "scope": grant.scope,
        "auth_time": grant.auth_time,
        "amr": list(grant.amr),
        "cnf": {"jkt": grant.jkt},
    }
    # RFC 9068 §2.1: the header MUST carry typ "at+jwt".
    return ctx.keyring.sign({"typ": ACCESS_TOKEN_TYP}, claims), lifetime


def read_own_access_token(ctx: ServerContext, token: str) -> dict[str, Any] | None:
    """Claims of an access token this server signed and that has not expired; else None.

    Used by introspection and revocation, which must not trust anything they did not sign."""
    try:
        decoded = decode_unverified(token)
    except JoseError:
        return None
    header, claims = decoded.header, decoded.claims
    if header.get("typ") != ACCESS_TOKEN_TYP or header.get("alg") != "ES256":
        return None
    kid = header.get("kid")
    key = ctx.keyring.verification_key(kid) if isinstance(kid, str) else None
    if key is None or not es256_verify(decoded.signing_input, decoded.signature, key.public_key):
        return None
    exp = claims.get("exp")
    if claims.get("iss") != ctx.settings.issuer or not isinstance(exp, int):
        return None
    if exp <= ctx.clock.now():
        return None
    return claims
