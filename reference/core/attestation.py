"""Platform attestation verification (spec §2.4), modelled on Play Integrity and App Attest.

The platform (here: the simulator's attestation CA) signs a statement about the app build, the
device and a key the app holds in secure hardware, over a nonce the server chose. This module
checks the statement's form, certificate chain, signature and freshness; policy decisions are
made by `registration`.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import itertools
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from reference.core.errors import InvalidAttestation
from reference.core.jose import (
    JoseError,
    decode_unverified,
    es256_verify,
    public_key_from_jwk,
    public_members,
)
from reference.core.rules import enforced

ATTESTATION_TYP = "platform-attestation+jwt"
MAX_CHAIN_LENGTH = 4


@dataclass(frozen=True, slots=True)
class AttestationStatement:
    """What a verified platform attestation says."""

    nonce: str
    app_id: str
    app_version: str
    signing_certificate_sha256: str
    verdict: tuple[str, ...]
    os_name: str
    os_version: str
    attested_key: dict[str, Any]


def _parse_chain(x5c: Any) -> list[x509.Certificate]:
    if not isinstance(x5c, list) or not 1 <= len(x5c) <= MAX_CHAIN_LENGTH:
        raise InvalidAttestation("x5c must list 1 to 4 certificates")
    try:
        return [
            x509.load_der_x509_certificate(base64.b64decode(entry, validate=True)) for entry in x5c
        ]
    except (TypeError, ValueError, binascii.Error) as exc:
        raise InvalidAttestation("x5c holds a malformed certificate") from exc


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    if not _is_ca(issuer):
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _verify_chain(
    chain: list[x509.Certificate], trusted_roots: list[x509.Certificate], now: int
) -> None:
    moment = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
    for certificate in chain:
        if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
            raise InvalidAttestation("a certificate in x5c is outside its validity period")
    for child, parent in itertools.pairwise(chain):
        if not _issued_by(child, parent):
            raise InvalidAttestation("x5c is not a chain")
    top = chain[-1]
    anchored = any(top == root or _issued_by(top, root) for root in trusted_roots)
    if not anchored:
        raise InvalidAttestation("x5c does not chain to a trusted platform root")


def _text(claims: dict[str, Any], section: str, name: str) -> str:
    value = claims.get(section, {}).get(name) if isinstance(claims.get(section), dict) else None
    if not isinstance(value, str) or not value or len(value) > 255:
        raise InvalidAttestation(f"{section}.{name} missing")
    return value


def verify_platform_attestation(
    token: Any, *, trusted_roots: list[x509.Certificate], now: int, clock_skew: int
) -> AttestationStatement:
    """Verify form, chain, signature and freshness; return the statement (spec §2.4)."""
    if not isinstance(token, str):
        raise InvalidAttestation("attestation must be a compact JWS string")
    try:
        decoded = decode_unverified(token)
    except JoseError as exc:
        raise InvalidAttestation(str(exc)) from exc
    header, claims = decoded.header, decoded.claims
    # §2.4: the attestation MUST carry typ "platform-attestation+jwt" and alg ES256.
    if header.get("typ") != ATTESTATION_TYP and enforced("attestation.typ"):
        raise InvalidAttestation("typ must be platform-attestation+jwt")
    if header.get("alg") != "ES256" and enforced("jws.alg_allow_list"):
        raise InvalidAttestation("alg must be ES256")
    chain = _parse_chain(header.get("x5c"))
    if enforced("attestation.chain"):
        _verify_chain(chain, trusted_roots, now)
    leaf_key = chain[0].public_key()
    if not isinstance(leaf_key, ec.EllipticCurvePublicKey) or leaf_key.curve.name != "secp256r1":
        raise InvalidAttestation("the attestation key must be P-256")
    # §2.4: the server MUST verify the JWS signature with the leaf certificate's key.
    if not es256_verify(decoded.signing_input, decoded.signature, leaf_key) and enforced(
        "attestation.signature"
    ):
        raise InvalidAttestation("attestation signature does not verify")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int) or not isinstance(exp, int):
        raise InvalidAttestation("iat and exp must be integers")
    if (iat > now + clock_skew or exp <= now - clock_skew) and enforced("attestation.freshness"):
        raise InvalidAttestation("attestation is not fresh")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise InvalidAttestation("nonce missing")
    device = claims.get("device_integrity")
    verdict = device.get("verdict") if isinstance(device, dict) else None
    if not isinstance(verdict, list) or not all(isinstance(v, str) for v in verdict):
        raise InvalidAttestation("device_integrity.verdict must be a list of strings")
    attested_key = claims.get("attested_key")
    try:
        public_key_from_jwk(attested_key)
    except JoseError as exc:
        raise InvalidAttestation(f"attested_key: {exc}") from exc
    assert isinstance(attested_key, dict)
    return AttestationStatement(
        nonce=nonce,
        app_id=_text(claims, "app_integrity", "app_id"),
        app_version=_text(claims, "app_integrity", "app_version"),
        signing_certificate_sha256=_text(claims, "app_integrity", "signing_certificate_sha256"),
        verdict=tuple(verdict),
        os_name=_text(claims, "device_integrity", "os_name").lower(),
        os_version=_text(claims, "device_integrity", "os_version"),
        attested_key=public_members(attested_key),
    )
