"""Enrollment by QR code (spec chapter 4).

A relying-party backend creates a single-use, short-lived enrollment code bound to one of its
users; the web page shows it as a QR code. The app scans it (`begin_enrollment`, which claims the
code for that app installation), the user chooses a PIN under the server's policy, and the app
registers the PIN key's public half (`complete_enrollment`). The relying party polls the status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reference.core.clock import random_token, secret_hash
from reference.core.errors import InvalidEnrollmentCode, InvalidRequest, NotFound
from reference.core.jose import JoseError, public_key_from_jwk, public_members
from reference.core.policy import RelyingPartyPolicy
from reference.core.records import AuthenticatorRecord, ClientRecord, EnrollmentRecord
from reference.core.rules import enforced
from reference.core.settings import ServerContext

MAX_NAME_LENGTH = 255


@dataclass(frozen=True, slots=True)
class CreatedEnrollment:
    enrollment: EnrollmentRecord
    code: str
    enrollment_uri: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class EnrollmentBegun:
    enrollment_session: str
    display_name: str
    pin_policy: dict[str, Any]
    expires_in: int


@dataclass(frozen=True, slots=True)
class EnrollmentCompleted:
    authenticator_id: str
    user_id: str


def enrollment_uri(issuer: str, code: str) -> str:
    """§4.2: what the QR code encodes."""
    return f"mia://enroll?issuer={quote(issuer, safe='')}&code={code}"


def _name(value: Any, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_LENGTH:
        raise InvalidRequest(f"{field_name} must be a non-empty string of at most 255 characters")
    return value.strip()


def create_enrollment(
    ctx: ServerContext, relying_party: RelyingPartyPolicy, user_id: Any, display_name: Any
) -> CreatedEnrollment:
    """§4.2: a single-use code for one user, stored only as its SHA-256."""
    user = _name(user_id, "user_id")
    name = _name(display_name, "display_name") if display_name is not None else user
    code = random_token(32)
    now = ctx.clock.now()
    lifetime = ctx.settings.lifetimes.enrollment_code
    record = EnrollmentRecord(
        enrollment_id=random_token(16),
        relying_party=relying_party.client_id,
        user_id=user,
        display_name=name,
        code_hash=secret_hash(code),
        created_at=now,
        expires_at=now + lifetime,
    )
    ctx.storage.add_enrollment(record)
    return CreatedEnrollment(record, code, enrollment_uri(ctx.settings.issuer, code), lifetime)


def enrollment_status(
    ctx: ServerContext, relying_party_id: str, enrollment_id: str
) -> dict[str, Any]:
    """§4.5: the relying party (only the one that created it) follows the enrollment."""
    record = ctx.storage.get_enrollment(enrollment_id)
    if record is None or record.relying_party != relying_party_id:
        raise NotFound("no such enrollment")
    status = record.status
    if status != "completed" and record.expires_at <= ctx.clock.now():
        status = "expired"
    return {
        "enrollment_id": record.enrollment_id,
        "user_id": record.user_id,
        "status": status,
        "expires_at": record.expires_at,
        "completed_at": record.completed_at,
    }


def begin_enrollment(ctx: ServerContext, client: ClientRecord, code: Any) -> EnrollmentBegun:
    """§4.3: claim the scanned code for this app installation, once."""
    if not isinstance(code, str) or not code:
        raise InvalidRequest("code is required")
    session = random_token(32)
    record = ctx.storage.claim_enrollment_code(
        secret_hash(code), client.client_id, secret_hash(session)
    )
    if record is None:
        raise InvalidEnrollmentCode("unknown enrollment code")
    # §4.3: the server MUST accept an enrollment code once, and only before it expires.
    if record.code_uses > 1 and enforced("enrollment.code_single_use"):
        raise InvalidEnrollmentCode("enrollment code already used")
    if record.expires_at <= ctx.clock.now() and enforced("enrollment.code_expiry"):
        raise InvalidEnrollmentCode("enrollment code expired")
    # §4.1: the app gets the same PIN policy that discovery publishes.
    pin_policy = ctx.policy.current().pin.as_json()
    remaining = max(record.expires_at - ctx.clock.now(), 0)
    return EnrollmentBegun(session, record.display_name, pin_policy, remaining)


def complete_enrollment(
    ctx: ServerContext, client: ClientRecord, session: Any, pin_public_key: Any
) -> EnrollmentCompleted:
    """§4.4: register the PIN key under a random authenticator id."""
    if not isinstance(session, str) or not session:
        raise InvalidRequest("enrollment_session is required")
    try:
        public_key_from_jwk(pin_public_key)
    except JoseError as exc:
        raise InvalidRequest(f"pin_public_key: {exc}") from exc
    record = ctx.storage.get_enrollment_by_session(secret_hash(session))
    if record is None:
        raise InvalidEnrollmentCode("unknown enrollment session")
    # §4.4: the session MUST belong to the app installation that claimed the code.
    if record.client_id != client.client_id and enforced("enrollment.session_binding"):
        raise InvalidEnrollmentCode("enrollment session belongs to another app installation")
    now = ctx.clock.now()
    if record.expires_at <= now and enforced("enrollment.code_expiry"):
        raise InvalidEnrollmentCode("enrollment session expired")
    authenticator = AuthenticatorRecord(
        authenticator_id=random_token(16),
        client_id=client.client_id,
        user_id=record.user_id,
        kind="pin",
        public_jwk=public_members(pin_public_key),
        created_at=now,
    )
    single_use = enforced("enrollment.code_single_use")
    if not ctx.storage.finish_enrollment(record.enrollment_id, authenticator, now, single_use):
        raise InvalidEnrollmentCode("enrollment session already used")
    return EnrollmentCompleted(authenticator.authenticator_id, record.user_id)
