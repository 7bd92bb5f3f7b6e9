"""JOSE primitives: RFC test vectors, the ES256 allow-list and the CVE-2022-21449 guard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.core.jose import (
    JoseError,
    b64u_decode,
    b64u_encode,
    decode_unverified,
    es256_verify,
    jwk_thumbprint,
    public_jwk,
    public_key_from_jwk,
    sign_jws,
    verify_es256_jws,
)

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def test_rfc7515_a3_es256_example_verifies() -> None:
    vector = json.loads((VECTORS / "rfc7515_es256.json").read_text())
    decoded = verify_es256_jws(vector["jws"], public_key_from_jwk(vector["jwk"]))
    assert decoded.claims == vector["claims"]


def test_rfc9449_thumbprint_example() -> None:
    vector = json.loads((VECTORS / "rfc9449_dpop.json").read_text())
    assert jwk_thumbprint(vector["jwk"]) == vector["jkt"]


def test_sign_then_verify_round_trip() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    token = sign_jws({"typ": "test+jwt"}, {"n": 1}, key)
    decoded = verify_es256_jws(token, key.public_key())
    assert decoded.header == {"alg": "ES256", "typ": "test+jwt"}
    assert decoded.claims == {"n": 1}


def test_zero_signature_is_refused() -> None:
    """CVE-2022-21449: r = s = 0 must never verify."""
    key = ec.generate_private_key(ec.SECP256R1())
    token = sign_jws({}, {"n": 1}, key)
    head, body, _ = token.split(".")
    forged = f"{head}.{body}.{b64u_encode(bytes(64))}"
    with pytest.raises(JoseError):
        verify_es256_jws(forged, key.public_key())


def test_alg_none_is_refused_even_without_signature() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    head = b64u_encode(json.dumps({"alg": "none"}).encode())
    body = b64u_encode(json.dumps({"n": 1}).encode())
    with pytest.raises(JoseError, match="ES256"):
        verify_es256_jws(f"{head}.{body}.", key.public_key())


def test_private_jwk_and_off_curve_points_are_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = public_jwk(key.public_key())
    with pytest.raises(JoseError, match="private"):
        public_key_from_jwk({**jwk, "d": "AAAA"})
    off_curve = {**jwk, "y": b64u_encode((1).to_bytes(32, "big"))}
    with pytest.raises(JoseError, match="not on P-256"):
        public_key_from_jwk(off_curve)
    with pytest.raises(JoseError):
        public_key_from_jwk({**jwk, "crv": "P-384"})


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_in_signed_bytes_is_refused(position: int, bit: int) -> None:
    key = _KEY
    token = sign_jws({"typ": "t"}, {"sub": "alice", "n": 42}, key)
    raw = bytearray(token.encode())
    index = position % len(raw)
    raw[index] ^= 1 << bit
    try:
        tampered = raw.decode("ascii")
        decoded = decode_unverified(tampered)
    except (UnicodeDecodeError, JoseError):
        return
    # Base64url's spare low bits can decode to the same bytes: only a real change must fail.
    original = decode_unverified(token)
    if (decoded.signing_input, decoded.signature) == (original.signing_input, original.signature):
        return
    if (
        decoded.header == original.header
        and decoded.claims == original.claims
        and (decoded.signature == original.signature)
    ):
        return
    assert not es256_verify(decoded.signing_input, decoded.signature, key.public_key())


_KEY = ec.generate_private_key(ec.SECP256R1())


def test_base64url_rejects_padding_and_junk() -> None:
    assert b64u_decode(b64u_encode(b"\x00\xff")) == b"\x00\xff"
    with pytest.raises(JoseError):
        b64u_decode("AA==")
    with pytest.raises(JoseError):
        decode_unverified("a.b")
    with pytest.raises(JoseError):
        decode_unverified("x" * 20_000)
