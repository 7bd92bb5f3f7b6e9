"""The MIA error catalogue (spec chapter 10) and the exception hierarchy that carries it.

One catalogue serves the server (status and body), the simulator (which screen to show) and the
conformance suite (which exact error a negative test expects). Codes from RFC 6749 §5.2,
RFC 6750 §3.1 and RFC 9449 §7.1 keep their standard meaning; the rest are MIA extensions
(RFC 6749 §8.5 lets an extension grant define its own error codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    code: str
    status: int
    meaning: str
    app_screen: str
    standard: str


_ENTRIES = (
    ErrorEntry(
        "invalid_request",
        400,
        "The request is malformed or lacks a parameter.",
        "error_generic",
        "RFC 6749 §5.2",
    ),
    ErrorEntry(
        "invalid_client",
        401,
        "The caller could not be authenticated.",
        "error_reregister_app",
        "RFC 6749 §5.2",
    ),
    ErrorEntry(
        "invalid_grant",
        400,
        "The assertion, challenge, authenticator or refresh token is not valid.",
        "error_session_expired",
        "RFC 6749 §5.2",
    ),
    ErrorEntry(
        "unsupported_grant_type",
        400,
        "The grant type is not supported.",
        "error_generic",
        "RFC 6749 §5.2",
    ),
    ErrorEntry(
        "invalid_scope",
        400,
        "The requested scope is not allowed.",
        "error_generic",
        "RFC 6749 §5.2",
    ),
    ErrorEntry(
        "invalid_target",
        400,
        "The requested resource is not known.",
        "error_generic",
        "RFC 8707 §2",
    ),
    ErrorEntry(
        "invalid_dpop_proof",
        400,
        "The DPoP proof is missing or not valid.",
        "error_generic",
        "RFC 9449 §7.1",
    ),
    ErrorEntry(
        "invalid_token",
        401,
        "The access token is missing, expired, revoked or not for this API.",
        "error_session_expired",
        "RFC 6750 §3.1",
    ),
    ErrorEntry(
        "invalid_attestation",
        400,
        "The platform attestation could not be verified.",
        "error_app_integrity",
        "MIA",
    ),
    ErrorEntry(
        "invalid_nonce",
        400,
        "The registration nonce is unknown, expired or used.",
        "error_generic",
        "MIA",
    ),
    ErrorEntry(
        "app_integrity_failed",
        403,
        "This build of the app is not genuine.",
        "error_app_integrity",
        "MIA",
    ),
    ErrorEntry(
        "device_integrity_failed",
        403,
        "The device is rooted, jailbroken or an emulator.",
        "error_device_integrity",
        "MIA",
    ),
    ErrorEntry(
        "app_update_required",
        403,
        "This app version is no longer allowed.",
        "error_app_update_required",
        "MIA",
    ),
    ErrorEntry(
        "os_update_required",
        403,
        "The operating system version is too old.",
        "error_os_update_required",
        "MIA",
    ),
    ErrorEntry(
        "invalid_enrollment_code",
        400,
        "The enrollment code is unknown, expired or used.",
        "error_enrollment_code",
        "MIA",
    ),
    ErrorEntry(
        "pin_incorrect",
        400,
        "The PIN was wrong; attempts_remaining says how many are left.",
        "error_pin_incorrect",
        "MIA",
    ),
    ErrorEntry(
        "authenticator_locked",
        400,
        "Too many wrong PINs: the authenticator was removed; enroll again.",
        "error_locked_reenroll",
        "MIA",
    ),
    ErrorEntry("not_found", 404, "No such resource.", "error_generic", "MIA"),
    ErrorEntry(
        "rate_limited", 429, "Too many requests; try again later.", "error_try_later", "MIA"
    ),
    ErrorEntry(
        "server_error",
        500,
        "The server failed; nothing was changed.",
        "error_try_later",
        "RFC 6749 §5.2",
    ),
)

CATALOGUE: dict[str, ErrorEntry] = {entry.code: entry for entry in _ENTRIES}


class MiaError(Exception):
    """A protocol failure with a catalogue code; the web layer turns it into an error response."""

    code = "server_error"

    def __init__(self, description: str, **extra: Any) -> None:
        super().__init__(description)
        self.description = description
        self.extra = extra

    @property
    def status(self) -> int:
        return CATALOGUE[self.code].status

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "error_description": self.description, **self.extra}


class InvalidRequest(MiaError):
    code = "invalid_request"


class InvalidClient(MiaError):
    code = "invalid_client"


class InvalidGrant(MiaError):
    code = "invalid_grant"


class UnsupportedGrantType(MiaError):
    code = "unsupported_grant_type"


class InvalidScope(MiaError):
    code = "invalid_scope"


class InvalidTarget(MiaError):
    code = "invalid_target"


class InvalidDPoPProof(MiaError):
    code = "invalid_dpop_proof"


class InvalidToken(MiaError):
    code = "invalid_token"


class InvalidAttestation(MiaError):
    code = "invalid_attestation"


class InvalidNonce(MiaError):
    code = "invalid_nonce"


class AppIntegrityFailed(MiaError):
    code = "app_integrity_failed"


class DeviceIntegrityFailed(MiaError):
    code = "device_integrity_failed"


class AppUpdateRequired(MiaError):
    code = "app_update_required"


class OsUpdateRequired(MiaError):
    code = "os_update_required"


class InvalidEnrollmentCode(MiaError):
    code = "invalid_enrollment_code"


class PinIncorrect(MiaError):
    code = "pin_incorrect"


class AuthenticatorLocked(MiaError):
    code = "authenticator_locked"


class NotFound(MiaError):
    code = "not_found"


class RateLimited(MiaError):
    code = "rate_limited"
