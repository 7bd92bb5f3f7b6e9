"""Client authentication (spec chapter 3).

Apps: private_key_jwt (RFC 7523 §2.2) signed with the key attested at registration, with an
explicit `typ` (client-authentication+jwt) and single-use `jti`. Relying-party backends:
client_secret_basic (RFC 6749 §2.3.1) against SHA-256 hashes from the policy file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any
from urllib.parse import unquote

from reference.core.errors import InvalidClient
from reference.core.jose import (
    JoseError,
    constant_time_equal,
    decode_unverified,
    es256_verify,
    public_key_from_jwk,
)
from reference.core.policy import RelyingPartyPolicy
from reference.core.records import ClientRecord
from reference.core.rules import enforced
from reference.core.settings import ServerContext

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_ASSERTION_TYP = "client-authentication+jwt"
MAX_JTI_LENGTH = 64


def authenticate_app(ctx: ServerContext, assertion_type: Any, assertion: Any) -> ClientRecord:
    """§3.2: verify a private_key_jwt client assertion and return the registered client."""
    if assertion_type != JWT_BEARER or not isinstance(assertion, str):
        raise InvalidClient("client authentication required (private_key_jwt)")
    try:
        decoded = decode_unverified(assertion)
    except JoseError as exc:
        raise InvalidClient("malformed client assertion") from exc
    header, claims = decoded.header, decoded.claims
    if header.get("typ") != CLIENT_ASSERTION_TYP and enforced("client_auth.typ"):
        raise InvalidClient("client assertion typ must be client-authentication+jwt")
    if header.get("alg") != "ES256" and enforced("jws.alg_allow_list"):
        raise InvalidClient("client assertion alg must be ES256")
    client_id = claims.get("iss")
    if not isinstance(client_id, str) or claims.get("sub") != client_id:
        raise InvalidClient("client assertion iss and sub must both be the client_id")
    client = ctx.storage.get_client(client_id)
    if client is None or client.status != "active":
        raise InvalidClient("unknown client")
    key = public_key_from_jwk(client.public_jwk)
    if not es256_verify(decoded.signing_input, decoded.signature, key) and enforced(
        "client_auth.signature"
    ):
        raise InvalidClient("client assertion signature does not verify")
    if claims.get("aud") != ctx.settings.issuer and enforced("client_auth.audience"):
        raise InvalidClient("client assertion aud must be the issuer")
    now = ctx.clock.now()
    iat, exp, jti = claims.get("iat"), claims.get("exp"), claims.get("jti")
    if not isinstance(iat, int) or not isinstance(exp, int):
        raise InvalidClient("client assertion iat and exp must be integers")
    lifetimes = ctx.settings.lifetimes
    fresh = exp > now and exp - iat <= lifetimes.client_assertion_max
    if (not fresh or iat > now + lifetimes.clock_skew) and enforced("client_auth.expiry"):
        raise InvalidClient("client assertion expired or not yet valid")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise InvalidClient("client assertion jti missing or too long")
    first_use = ctx.storage.remember_jti(f"client:{client_id}", jti, max(exp, now + 1), now)
    if not first_use and enforced("client_auth.jti_single_use"):
        raise InvalidClient("client assertion replayed")
    return client


def _sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: form-urlencoded id and secret inside HTTP Basic (RFC 7617)."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        return None
    return unquote(client_id), unquote(secret)


def authenticate_relying_party(ctx: ServerContext, authorization: str | None) -> RelyingPartyPolicy:
    """§3.3: client_secret_basic for relying-party backends; opaque failure."""
    credentials = parse_basic_credentials(authorization)
    if credentials is None:
        raise InvalidClient("relying-party authentication required (client_secret_basic)")
    client_id, secret = credentials
    relying_party = ctx.policy.current().relying_parties.get(client_id)
    # Hash and compare even for unknown ids, so timing does not reveal which ids exist.
    expected = relying_party.secret_sha256 if relying_party else _sha256_hex("\x00unknown")
    matches = constant_time_equal(_sha256_hex(secret), expected)
    if relying_party is None or (not matches and enforced("rp_auth.secret")):
        raise InvalidClient("invalid relying-party credentials")
    return relying_party
