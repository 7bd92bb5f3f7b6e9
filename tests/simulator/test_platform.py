"""Simulated platform attestation CA and attestation content (spec §2)."""

from __future__ import annotations

import base64
import stat
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from reference.core.jose import decode_unverified, public_key_from_jwk, verify_es256_jws
from simulator import GENUINE_SIGNING_CERTIFICATE_SHA256, AppBuild, Keystore, PlatformCA
from simulator.platform import verdict_for


@pytest.fixture(scope="module")
def ca() -> PlatformCA:
    return PlatformCA.create()


def test_root_is_a_ca_and_leaf_verifies_under_it(ca: PlatformCA) -> None:
    root = x509.load_pem_x509_certificate(ca.root_pem.encode())
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints).value
    usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert constraints.ca is True
    assert usage.key_cert_sign is True
    assert root.subject == root.issuer
    root.verify_directly_issued_by(root)

    leaf = x509.load_der_x509_certificate(base64.b64decode(ca.x5c()[0]))
    leaf.verify_directly_issued_by(root)
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    now = time.time()
    for cert in (root, leaf):
        assert cert.not_valid_before_utc.timestamp() <= now <= cert.not_valid_after_utc.timestamp()
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)


def test_chain_verifies_with_the_x509_policy_builder(ca: PlatformCA) -> None:
    from cryptography.x509.verification import PolicyBuilder, Store

    root = x509.load_pem_x509_certificate(ca.root_pem.encode())
    leaf = x509.load_der_x509_certificate(base64.b64decode(ca.x5c()[0]))
    verifier = PolicyBuilder().store(Store([root])).build_client_verifier()
    chain = verifier.verify(leaf, []).chain
    assert chain[-1] == root


def test_load_or_create_persists_the_root(tmp_path: Path) -> None:
    first = PlatformCA.load_or_create(tmp_path / "ca")
    assert (tmp_path / "ca" / "root.pem").read_text() == first.root_pem
    mode = stat.S_IMODE((tmp_path / "ca" / "root-key.pem").stat().st_mode)
    assert mode == 0o600
    second = PlatformCA.load_or_create(tmp_path / "ca")
    assert second.root_pem == first.root_pem
    leaf = x509.load_der_x509_certificate(base64.b64decode(second.x5c()[0]))
    leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(first.root_pem.encode()))


def test_app_builds() -> None:
    genuine = AppBuild.genuine()
    assert (genuine.app_id, genuine.version) == ("com.example.bank", "2.0.0")
    assert genuine.signing_certificate_sha256 == GENUINE_SIGNING_CERTIFICATE_SHA256
    assert AppBuild() == genuine
    assert AppBuild.genuine(version="1.0.0").version == "1.0.0"
    tampered = AppBuild.tampered()
    assert tampered.signing_certificate_sha256 != GENUINE_SIGNING_CERTIFICATE_SHA256
    assert not tampered.is_genuine and genuine.is_genuine
    assert len(base64.urlsafe_b64decode(GENUINE_SIGNING_CERTIFICATE_SHA256 + "=")) == 32


@pytest.mark.parametrize(
    ("rooted", "emulator", "verdict"),
    [
        (False, False, ["MEETS_DEVICE_INTEGRITY"]),
        (True, False, ["MEETS_BASIC_INTEGRITY"]),
        (False, True, []),
        (True, True, []),
    ],
)
def test_attestation_content(
    ca: PlatformCA, rooted: bool, emulator: bool, verdict: list[str]
) -> None:
    keystore = Keystore()
    jwk = keystore.generate("client")
    app = AppBuild.tampered() if rooted else AppBuild.genuine()
    token = ca.attest(
        "nonce-123",
        app,
        "android",
        "13",
        verdict_for(rooted=rooted, emulator=emulator),
        jwk,
        now=1_764_871_200,
    )
    decoded = decode_unverified(token)
    assert decoded.header["typ"] == "platform-attestation+jwt"
    assert decoded.header["alg"] == "ES256"
    leaf = x509.load_der_x509_certificate(base64.b64decode(decoded.header["x5c"][0]))
    leaf_key = leaf.public_key()
    assert isinstance(leaf_key, ec.EllipticCurvePublicKey)
    verify_es256_jws(token, leaf_key)
    claims = decoded.claims
    assert claims == {
        "iss": "mia-simulated-platform",
        "iat": 1_764_871_200,
        "exp": 1_764_871_500,
        "nonce": "nonce-123",
        "app_integrity": {
            "app_id": "com.example.bank",
            "app_version": "2.0.0",
            "signing_certificate_sha256": app.signing_certificate_sha256,
        },
        "device_integrity": {"verdict": verdict, "os_name": "android", "os_version": "13"},
        "attested_key": jwk,
    }
    assert "d" not in claims["attested_key"]
    public_key_from_jwk(claims["attested_key"])


def test_attestation_uses_the_ca_clock() -> None:
    ca = PlatformCA.create(clock=lambda: 1_700_000_000.5)
    jwk = Keystore().generate("client")
    claims = decode_unverified(ca.attest("n", AppBuild.genuine(), "ios", "17.1", [], jwk)).claims
    assert (claims["iat"], claims["exp"]) == (1_700_000_000, 1_700_000_300)
