"""Authorization server metadata (spec §1.1; RFC 8414 §2) and JWKS (spec §1.2; RFC 7517)."""

from __future__ import annotations

from typing import Any

from reference.core.attestation import ATTESTATION_TYP
from reference.core.settings import ServerContext
from reference.core.token_endpoint import GRANT_TYPES

#: Metadata member -> endpoint path under the issuer (spec §1.1).
ENDPOINT_PATHS: dict[str, str] = {
    "jwks_uri": "/jwks.json",
    "token_endpoint": "/token",
    "introspection_endpoint": "/introspect",
    "revocation_endpoint": "/revoke",
    "registration_endpoint": "/register",
    "mia_registration_nonce_endpoint": "/register/nonce",
    "mia_enrollment_begin_endpoint": "/enroll/begin",
    "mia_enrollment_complete_endpoint": "/enroll/complete",
    "mia_challenge_endpoint": "/login/challenge",
    "mia_enrollment_creation_endpoint": "/rp/enrollments",
}


def authorization_server_metadata(ctx: ServerContext) -> dict[str, Any]:
    return {
        "issuer": ctx.settings.issuer,
        **{member: ctx.settings.endpoint(path) for member, path in ENDPOINT_PATHS.items()},
        "mia_resources": list(ctx.settings.resources),
        "grant_types_supported": list(GRANT_TYPES),
        "response_types_supported": [],
        "scopes_supported": sorted(ctx.settings.allowed_scopes),
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "dpop_signing_alg_values_supported": ["ES256"],
        "mia_attestation_formats_supported": [ATTESTATION_TYP],
        "mia_pin_policy": ctx.policy.current().pin.as_json(),
    }


def jwks(ctx: ServerContext) -> dict[str, Any]:
    return ctx.keyring.jwks()
