"""DPoP proof verification (spec chapter 6; RFC 9449 §4.3 and §7).

One public verifier: `verify_dpop_proof`, with keyword-only `expected_*` arguments, returning the
proof's key thumbprint for binding (`cnf.jkt`, RFC 9449 §6.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from reference.core.errors import InvalidDPoPProof
from reference.core.jose import (
    JoseError,
    b64u_encode,
    constant_time_equal,
    decode_unverified,
    es256_verify,
    jwk_thumbprint,
    public_key_from_jwk,
    public_members,
)
from reference.core.rules import enforced
from reference.core.settings import ServerContext

DPOP_TYP = "dpop+jwt"
MAX_JTI_LENGTH = 128


@dataclass(frozen=True, slots=True)
class VerifiedDPoPProof:
    """A proof that passed every check: its key's thumbprint is what tokens are bound to."""

    jkt: str


def access_token_hash(access_token: str) -> str:
    """RFC 9449 §4.2: `ath` is the base64url SHA-256 of the access token's ASCII bytes."""
    return b64u_encode(hashlib.sha256(access_token.encode("ascii")).digest())


def verify_dpop_proof(
    ctx: ServerContext,
    proofs: Sequence[str],
    *,
    expected_method: str,
    expected_url: str,
    expected_access_token: str | None = None,
    expected_jkt: str | None = None,
) -> VerifiedDPoPProof:
    """Apply every check of RFC 9449 §4.3 (and §7.1 at a resource server)."""
    # §4.3 (1): exactly one DPoP HTTP request header field.
    if not proofs:
        if enforced("dpop.required"):
            raise InvalidDPoPProof("a DPoP proof is required")
        return VerifiedDPoPProof(expected_jkt or "")
    if len(proofs) != 1:
        raise InvalidDPoPProof("exactly one DPoP header is allowed")
    # §4.3 (2): a well-formed JWT.
    try:
        decoded = decode_unverified(proofs[0])
    except JoseError as exc:
        raise InvalidDPoPProof(f"malformed DPoP proof: {exc}") from exc
    header, claims = decoded.header, decoded.claims
    # §4.3 (4): typ is dpop+jwt.
    if header.get("typ") != DPOP_TYP and enforced("dpop.typ"):
        raise InvalidDPoPProof("DPoP proof typ must be dpop+jwt")
    # §4.3 (5): alg is an asymmetric algorithm we support; never "none" or a MAC.
    if header.get("alg") != "ES256" and enforced("dpop.alg"):
        raise InvalidDPoPProof("DPoP proof alg must be ES256")
    jwk = header.get("jwk")
    # §4.3 (7): the jwk is a public key, without private members.
    if isinstance(jwk, dict) and "d" in jwk and enforced("dpop.private_key"):
        raise InvalidDPoPProof("DPoP jwk must not contain a private key")
    try:
        public_key = public_key_from_jwk(public_members(jwk) if isinstance(jwk, dict) else jwk)
    except JoseError as exc:
        raise InvalidDPoPProof(f"DPoP jwk: {exc}") from exc
    # §4.3 (6): the signature verifies with the embedded key.
    if not es256_verify(decoded.signing_input, decoded.signature, public_key) and enforced(
        "dpop.signature"
    ):
        raise InvalidDPoPProof("DPoP proof signature does not verify")
    # §4.3 (3): all required claims are present.
    jti, htm, htu, iat = (claims.get(name) for name in ("jti", "htm", "htu", "iat"))
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise InvalidDPoPProof("DPoP proof jti missing")
    if not isinstance(htm, str) or not isinstance(htu, str) or not isinstance(iat, int):
        raise InvalidDPoPProof("DPoP proof lacks htm, htu or iat")
    # §4.3 (8): htm matches the request method.
    if htm != expected_method and enforced("dpop.htm"):
        raise InvalidDPoPProof("DPoP htm does not match the request method")
    # §4.3 (9): htu matches the target URI, ignoring query and fragment.
    if htu.split("?", 1)[0].split("#", 1)[0] != expected_url and enforced("dpop.htu"):
        raise InvalidDPoPProof("DPoP htu does not match the request URI")
    # §4.3 (11): iat within an acceptable window.
    now = ctx.clock.now()
    window = ctx.settings.lifetimes.dpop_iat_window
    if abs(now - iat) > window and enforced("dpop.iat"):
        raise InvalidDPoPProof("DPoP proof iat is outside the acceptable window")
    assert isinstance(jwk, dict)  # public_key_from_jwk accepted it
    jkt = jwk_thumbprint(jwk)
    if expected_access_token is not None:
        # §4.3 (12): ath is the hash of the presented access token.
        ath = claims.get("ath")
        valid_ath = isinstance(ath, str) and constant_time_equal(
            ath, access_token_hash(expected_access_token)
        )
        if not valid_ath and enforced("dpop.ath"):
            raise InvalidDPoPProof("DPoP ath does not match the access token")
    # §4.3 (12): the proof key is the key the token is bound to.
    bound = expected_jkt is None or constant_time_equal(jkt, expected_jkt)
    if not bound and enforced("dpop.binding"):
        raise InvalidDPoPProof("DPoP key is not the key the token is bound to")
    # §11.1: a proof is single use within its acceptance window.
    first_use = ctx.storage.remember_jti(f"dpop:{jkt}", jti, now + 2 * window, now)
    if not first_use and enforced("dpop.jti_replay"):
        raise InvalidDPoPProof("DPoP proof replayed")
    return VerifiedDPoPProof(jkt)
