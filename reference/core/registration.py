"""App registration with platform attestation (spec chapter 2; RFC 7591 style response).

Two steps: the app fetches a single-use nonce, then presents a platform attestation over that
nonce. The server verifies the attestation and applies the integrity policy, answering each
failure with its own error so the app can show the right screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reference.core.attestation import AttestationStatement, verify_platform_attestation
from reference.core.clock import random_token, secret_hash
from reference.core.errors import (
    AppIntegrityFailed,
    AppUpdateRequired,
    DeviceIntegrityFailed,
    InvalidNonce,
    OsUpdateRequired,
)
from reference.core.jose import constant_time_equal
from reference.core.policy import Policy, version_at_least
from reference.core.records import ClientRecord
from reference.core.rules import enforced
from reference.core.settings import ServerContext

NONCE_PURPOSE = "registration"
MEETS_DEVICE_INTEGRITY = "MEETS_DEVICE_INTEGRITY"


@dataclass(frozen=True, slots=True)
class RegistrationNonce:
    nonce: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class Registration:
    client: ClientRecord

    def as_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client.client_id,
            "client_id_issued_at": self.client.created_at,
            "token_endpoint_auth_method": "private_key_jwt",
            "app_id": self.client.app_id,
            "app_version": self.client.app_version,
        }


def issue_registration_nonce(ctx: ServerContext) -> RegistrationNonce:
    """§2.3: a fresh single-use nonce, stored only as a hash."""
    nonce = random_token(32)
    lifetime = ctx.settings.lifetimes.registration_nonce
    ctx.storage.put_nonce(NONCE_PURPOSE, secret_hash(nonce), "", ctx.clock.now() + lifetime)
    return RegistrationNonce(nonce, lifetime)


def _consume_nonce(ctx: ServerContext, nonce: str) -> None:
    use = ctx.storage.use_nonce(NONCE_PURPOSE, secret_hash(nonce))
    if use is None:
        raise InvalidNonce("unknown registration nonce")
    # §2.3: a nonce MUST be accepted once and only before it expires.
    if use.uses > 1 and enforced("registration.nonce_single_use"):
        raise InvalidNonce("registration nonce already used")
    if use.expires_at <= ctx.clock.now() and enforced("registration.nonce_expiry"):
        raise InvalidNonce("registration nonce expired")


def apply_integrity_policy(statement: AttestationStatement, policy: Policy) -> None:
    """§2.5: the policy checks, in order, each with its distinct error."""
    app = policy.apps.get(statement.app_id)
    genuine = app is not None and constant_time_equal(
        statement.signing_certificate_sha256, app.signing_certificate_sha256
    )
    if not genuine and enforced("registration.app_integrity"):
        raise AppIntegrityFailed("the app build is not recognised as genuine")
    version_enabled = app is None or app.version_status(statement.app_version) == "enabled"
    if not version_enabled and enforced("registration.app_version"):
        raise AppUpdateRequired(f"app version {statement.app_version} may not register")
    minimum = policy.minimum_os.get(statement.os_name)
    os_allowed = minimum is not None and version_at_least(statement.os_version, minimum)
    if not os_allowed and enforced("registration.os_version"):
        raise OsUpdateRequired(f"{statement.os_name} {statement.os_version} is not supported")
    integrity_required = app is None or app.require_device_integrity
    intact = MEETS_DEVICE_INTEGRITY in statement.verdict
    if integrity_required and not intact and enforced("registration.device_integrity"):
        raise DeviceIntegrityFailed("the device does not meet device integrity")


def register_client(ctx: ServerContext, attestation: Any) -> Registration:
    """§2.4–2.6: verify the attestation, consume its nonce, apply policy, create the client."""
    now = ctx.clock.now()
    statement = verify_platform_attestation(
        attestation,
        trusted_roots=ctx.trusted_attestation_roots,
        now=now,
        clock_skew=ctx.settings.lifetimes.clock_skew,
    )
    _consume_nonce(ctx, statement.nonce)
    apply_integrity_policy(statement, ctx.policy.current())
    client = ClientRecord(
        client_id=random_token(16),
        public_jwk=statement.attested_key,
        app_id=statement.app_id,
        app_version=statement.app_version,
        os_name=statement.os_name,
        os_version=statement.os_version,
        device_verdict=statement.verdict,
        created_at=now,
    )
    ctx.storage.add_client(client)
    return Registration(client)
