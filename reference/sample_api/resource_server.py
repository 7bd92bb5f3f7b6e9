"""Access-token and DPoP validation at a resource server (spec §9.2; RFC 9068 §4, RFC 9449 §7).

A customer API needs three things from the authorization server: its issuer, its JWKS (fetched and
cached here, refreshed when a token names an unknown key id) and its own resource identifier.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from reference.core.dpop import verify_dpop_proof
from reference.core.errors import InvalidDPoPProof, InvalidToken
from reference.core.jose import (
    JoseError,
    decode_unverified,
    es256_verify,
    public_key_from_jwk,
    public_members,
)
from reference.core.rules import enforced
from reference.core.settings import ServerContext

JWKS_REFRESH_INTERVAL = 0.1


class JwksCache:
    """Verification keys by kid, parsed once; refetched at most every few seconds on a miss."""

    def __init__(self, fetch: Callable[[], dict[str, Any]]) -> None:
        self._fetch = fetch
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def key(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        key = self._keys.get(kid)
        if key is None and time.monotonic() - self._fetched_at > JWKS_REFRESH_INTERVAL:
            with self._lock:
                self._refresh()
            key = self._keys.get(kid)
        return key

    def _refresh(self) -> None:
        keys = {}
        for jwk in self._fetch().get("keys", []):
            if jwk.get("alg", "ES256") == "ES256" and isinstance(jwk.get("kid"), str):
                keys[jwk["kid"]] = public_key_from_jwk(public_members(jwk))
        self._keys = keys
        self._fetched_at = time.monotonic()


@dataclass(frozen=True, slots=True)
class AccessContext:
    """Who is calling, once token and proof have been checked."""

    sub: str
    client_id: str
    scope: tuple[str, ...]
    amr: tuple[str, ...]


class ResourceServer:
    def __init__(self, ctx: ServerContext, *, issuer: str, audience: str, jwks: JwksCache) -> None:
        self._ctx = ctx
        self.issuer = issuer
        self.audience = audience
        self._jwks = jwks

    def authenticate(
        self, authorization: str | None, dpop_proofs: Sequence[str], *, method: str, url: str
    ) -> AccessContext:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "dpop" or not token.strip():
            raise InvalidToken("a DPoP-bound access token is required")
        token = token.strip()
        claims = self._validate_token(token)
        cnf = claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        if not isinstance(jkt, str):
            raise InvalidToken("the access token is not DPoP-bound")
        # RFC 9449 §7.1: the proof MUST be checked with ath and the token's bound key.
        verify_dpop_proof(
            self._ctx,
            dpop_proofs,
            expected_method=method,
            expected_url=url,
            expected_access_token=token,
            expected_jkt=jkt,
        )
        scope = claims.get("scope", "")
        amr = claims.get("amr", [])
        return AccessContext(
            sub=str(claims.get("sub")),
            client_id=str(claims.get("client_id")),
            scope=tuple(scope.split()) if isinstance(scope, str) else (),
            amr=tuple(amr) if isinstance(amr, list) else (),
        )

    def _validate_token(self, token: str) -> dict[str, Any]:
        """RFC 9068 §4: typ, alg allow-list, signature, iss, aud, exp."""
        try:
            decoded = decode_unverified(token)
        except JoseError as exc:
            raise InvalidToken("malformed access token") from exc
        header, claims = decoded.header, decoded.claims
        if header.get("typ") != "at+jwt" and enforced("api.typ"):
            raise InvalidToken("access token typ must be at+jwt")
        if header.get("alg") != "ES256" and enforced("jws.alg_allow_list"):
            raise InvalidToken("access token alg must be ES256")
        kid = header.get("kid")
        key = self._jwks.key(kid) if isinstance(kid, str) else None
        signature_valid = key is not None and es256_verify(
            decoded.signing_input, decoded.signature, key
        )
        if not signature_valid and enforced("api.signature"):
            raise InvalidToken("access token signature does not verify")
        if claims.get("iss") != self.issuer and enforced("api.issuer"):
            raise InvalidToken("access token from another issuer")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience not in audiences and enforced("api.audience"):
            raise InvalidToken("access token is not meant for this API")
        exp = claims.get("exp")
        if (not isinstance(exp, int) or exp <= self._ctx.clock.now()) and enforced("api.expiry"):
            raise InvalidToken("access token expired")
        return claims


__all__ = ["AccessContext", "InvalidDPoPProof", "JwksCache", "ResourceServer"]
