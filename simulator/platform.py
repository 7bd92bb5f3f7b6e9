"""The simulated mobile platform: its attestation CA and the app builds it attests.

Models Google Play Integrity / Apple App Attest (spec §2): the platform vouches, in a JWS
signed by an attestation key whose certificate chains to a root the server trusts by
configuration, for the app (id, version, signing-certificate digest), the device integrity verdict,
the OS, the server's nonce and the public key the app created in its keystore.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reference.core.jose import b64u_encode, sign_jws

ATTESTATION_TYP = "platform-attestation+jwt"
PLATFORM_ISSUER = "mia-simulated-platform"
ATTESTATION_LIFETIME = 300
#: Subject alternative name of the attestation leaf (RFC 5280 profiles such as webpki want one).
ATTESTATION_KEY_DNS_NAME = "attestation.platform.mia.invalid"

DEFAULT_APP_ID = "com.example.bank"
DEFAULT_APP_VERSION = "2.0.0"

#: The "genuine" app signing certificate (a fixed byte string standing in for the DER the
#: publisher signs releases with). Only its SHA-256 digest travels in attestations.
GENUINE_SIGNING_CERTIFICATE = b"MIA simulated app signing certificate: Example Bank release key v1"
#: What a repackaged (tampered) build is signed with instead.
TAMPERED_SIGNING_CERTIFICATE = b"MIA simulated app signing certificate: repackaged by an attacker"


def signing_certificate_digest(certificate: bytes) -> str:
    """b64u SHA-256 of a signing certificate, as in `app_integrity.signing_certificate_sha256`."""
    return b64u_encode(hashlib.sha256(certificate).digest())


#: The digest a server's default policy pins for `com.example.bank`.
GENUINE_SIGNING_CERTIFICATE_SHA256 = signing_certificate_digest(GENUINE_SIGNING_CERTIFICATE)
TAMPERED_SIGNING_CERTIFICATE_SHA256 = signing_certificate_digest(TAMPERED_SIGNING_CERTIFICATE)

VERDICT_GENUINE = ["MEETS_DEVICE_INTEGRITY"]
VERDICT_ROOTED = ["MEETS_BASIC_INTEGRITY"]
VERDICT_EMULATOR: list[str] = []


@dataclass(frozen=True)
class AppBuild:
    """One build of the app as the platform sees it."""

    app_id: str = DEFAULT_APP_ID
    version: str = DEFAULT_APP_VERSION
    signing_certificate_sha256: str = GENUINE_SIGNING_CERTIFICATE_SHA256

    @classmethod
    def genuine(cls, version: str = DEFAULT_APP_VERSION, app_id: str = DEFAULT_APP_ID) -> AppBuild:
        return cls(app_id=app_id, version=version)

    @classmethod
    def tampered(cls, version: str = DEFAULT_APP_VERSION, app_id: str = DEFAULT_APP_ID) -> AppBuild:
        """A repackaged build: same id and version, different signing certificate."""
        return cls(
            app_id=app_id,
            version=version,
            signing_certificate_sha256=TAMPERED_SIGNING_CERTIFICATE_SHA256,
        )

    @property
    def is_genuine(self) -> bool:
        return self.signing_certificate_sha256 == GENUINE_SIGNING_CERTIFICATE_SHA256


def verdict_for(*, rooted: bool = False, emulator: bool = False) -> list[str]:
    """Play Integrity style verdict: emulator [], rooted basic only, genuine device integrity."""
    if emulator:
        return list(VERDICT_EMULATOR)
    if rooted:
        return list(VERDICT_ROOTED)
    return list(VERDICT_GENUINE)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MIA Simulated Platform"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)


def _root_certificate(key: ec.EllipticCurvePrivateKey, now: float) -> x509.Certificate:
    name = _name("MIA Simulated Platform Attestation Root")
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_utc(now - 86_400))
        .not_valid_after(_utc(now + 20 * 365 * 86_400))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf_certificate(
    root_key: ec.EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    leaf_key: ec.EllipticCurvePrivateKey,
    now: float,
) -> x509.Certificate:
    public = leaf_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(_name("MIA Simulated Platform Attestation Key"))
        .issuer_name(root_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_utc(now - 3600))
        .not_valid_after(_utc(now + 2 * 365 * 86_400))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(ATTESTATION_KEY_DNS_NAME)]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )


class PlatformCA:
    """The platform's attestation CA: a self-signed P-256 root and an attestation leaf under it."""

    ROOT_CERT_FILE = "root.pem"
    ROOT_KEY_FILE = "root-key.pem"

    def __init__(
        self,
        root_key: ec.EllipticCurvePrivateKey,
        root_cert: x509.Certificate,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._root_key = root_key
        self.root_cert = root_cert
        self.clock = clock
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())
        self.leaf_cert = _leaf_certificate(root_key, root_cert, self._leaf_key, clock())

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def create(cls, *, clock: Callable[[], float] = time.time) -> PlatformCA:
        root_key = ec.generate_private_key(ec.SECP256R1())
        return cls(root_key, _root_certificate(root_key, clock()), clock=clock)

    @classmethod
    def from_pem(
        cls, cert_pem: bytes, key_pem: bytes, *, clock: Callable[[], float] = time.time
    ) -> PlatformCA:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("platform root key must be an EC P-256 key")
        return cls(key, cert, clock=clock)

    @classmethod
    def from_files(
        cls,
        cert_path: str | os.PathLike[str],
        key_path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
    ) -> PlatformCA:
        return cls.from_pem(Path(cert_path).read_bytes(), Path(key_path).read_bytes(), clock=clock)

    @classmethod
    def load_or_create(
        cls, directory: str | os.PathLike[str], *, clock: Callable[[], float] = time.time
    ) -> PlatformCA:
        """Load root.pem + root-key.pem from `directory`; create both (key 0600) if absent."""
        folder = Path(directory)
        cert_path, key_path = folder / cls.ROOT_CERT_FILE, folder / cls.ROOT_KEY_FILE
        if cert_path.exists() and key_path.exists():
            return cls.from_files(cert_path, key_path, clock=clock)
        folder.mkdir(parents=True, exist_ok=True)
        ca = cls.create(clock=clock)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(ca.root_key_pem)
        os.chmod(key_path, 0o600)
        cert_path.write_bytes(ca.root_pem.encode("ascii"))
        return ca

    # -- material -----------------------------------------------------------------------------

    @property
    def root_pem(self) -> str:
        return self.root_cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def root_key_pem(self) -> bytes:
        return self._root_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def leaf_pem(self) -> str:
        return self.leaf_cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def x5c(self) -> list[str]:
        """The chain as sent in the JWS header: [leaf] in standard base64 DER (root omitted)."""
        der = self.leaf_cert.public_bytes(serialization.Encoding.DER)
        return [base64.b64encode(der).decode("ascii")]

    # -- attestation --------------------------------------------------------------------------

    def attestation_claims(
        self,
        nonce: str,
        app: AppBuild,
        os_name: str,
        os_version: str,
        verdict: list[str],
        attested_jwk: dict[str, Any],
        *,
        now: float | None = None,
    ) -> dict[str, Any]:
        issued = int(self.clock() if now is None else now)
        return {
            "iss": PLATFORM_ISSUER,
            "iat": issued,
            "exp": issued + ATTESTATION_LIFETIME,
            "nonce": nonce,
            "app_integrity": {
                "app_id": app.app_id,
                "app_version": app.version,
                "signing_certificate_sha256": app.signing_certificate_sha256,
            },
            "device_integrity": {
                "verdict": list(verdict),
                "os_name": os_name,
                "os_version": os_version,
            },
            "attested_key": dict(attested_jwk),
        }

    def attestation_header(self) -> dict[str, Any]:
        return {"alg": "ES256", "typ": ATTESTATION_TYP, "x5c": self.x5c()}

    def sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        """Sign arbitrary header/claims with the attestation leaf key (for negative tests)."""
        return sign_jws(header, claims, self._leaf_key)

    def attest(
        self,
        nonce: str,
        app: AppBuild,
        os_name: str,
        os_version: str,
        verdict: list[str],
        attested_jwk: dict[str, Any],
        *,
        now: float | None = None,
    ) -> str:
        """A `platform-attestation+jwt` JWS (spec §2) binding the nonce to the app key."""
        claims = self.attestation_claims(
            nonce, app, os_name, os_version, verdict, attested_jwk, now=now
        )
        return self.sign(self.attestation_header(), claims)
