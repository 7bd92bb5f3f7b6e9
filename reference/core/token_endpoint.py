"""The token endpoint (spec §5.3, §5.5, chapter 7; RFC 6749 §3.2, RFC 9449 §5).

Two grants: MIA's authenticator-assertion grant (PIN login) and refresh_token. Both require
private_key_jwt client authentication and a DPoP proof; both answer with a DPoP-bound JWT access
token and a rotated refresh token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reference.core.access_tokens import AccessTokenGrant, issue_access_token
from reference.core.client_auth import authenticate_app
from reference.core.dpop import verify_dpop_proof
from reference.core.errors import InvalidRequest, InvalidScope, InvalidTarget, UnsupportedGrantType
from reference.core.login import verify_authenticator_assertion
from reference.core.refresh_tokens import rotate, start_family
from reference.core.settings import ServerContext

AUTHENTICATOR_ASSERTION_GRANT = "urn:mia:params:oauth:grant-type:authenticator-assertion"
REFRESH_TOKEN_GRANT = "refresh_token"  # noqa: S105 - a grant type name
GRANT_TYPES = (AUTHENTICATOR_ASSERTION_GRANT, REFRESH_TOKEN_GRANT)


def _requested_scope(ctx: ServerContext, raw: str | None) -> str:
    if raw is None:
        return ctx.settings.default_scope
    scopes = raw.split()
    if not scopes or not set(scopes) <= ctx.settings.allowed_scopes:
        raise InvalidScope("requested scope is not allowed")
    return " ".join(dict.fromkeys(scopes))


def _requested_resource(ctx: ServerContext, raw: str | None) -> str:
    if raw is None:
        return ctx.settings.resources[0]
    # RFC 8707 §2: an unknown resource is refused with invalid_target.
    if raw not in ctx.settings.resources:
        raise InvalidTarget("unknown resource")
    return raw


def _token_response(
    ctx: ServerContext, grant: AccessTokenGrant, refresh_token: str
) -> dict[str, Any]:
    access_token, expires_in = issue_access_token(ctx, grant)
    return {
        "access_token": access_token,
        "token_type": "DPoP",
        "expires_in": expires_in,
        "refresh_token": refresh_token,
        "scope": grant.scope,
    }


def handle_token_request(
    ctx: ServerContext, form: Mapping[str, str], dpop_proofs: Sequence[str]
) -> dict[str, Any]:
    """Process one token request; raises a `MiaError` subclass on failure."""
    grant_type = form.get("grant_type")
    if grant_type not in GRANT_TYPES:
        raise UnsupportedGrantType("grant_type must be one of " + ", ".join(GRANT_TYPES))
    client = authenticate_app(ctx, form.get("client_assertion_type"), form.get("client_assertion"))
    proof = verify_dpop_proof(
        ctx,
        dpop_proofs,
        expected_method="POST",
        expected_url=ctx.settings.endpoint("/token"),
    )
    if grant_type == AUTHENTICATOR_ASSERTION_GRANT:
        scope = _requested_scope(ctx, form.get("scope"))
        resource = _requested_resource(ctx, form.get("resource"))
        login = verify_authenticator_assertion(ctx, client, form.get("assertion"))
        refresh_token = start_family(
            ctx,
            client_id=client.client_id,
            user_id=login.authenticator.user_id,
            authenticator_id=login.authenticator.authenticator_id,
            jkt=proof.jkt,
            scope=scope,
            resource=resource,
            amr=login.amr,
            auth_time=login.auth_time,
        )
        grant = AccessTokenGrant(
            user_id=login.authenticator.user_id,
            client_id=client.client_id,
            scope=scope,
            resource=resource,
            jkt=proof.jkt,
            amr=login.amr,
            auth_time=login.auth_time,
        )
        return _token_response(ctx, grant, refresh_token)
    if "refresh_token" not in form:
        raise InvalidRequest("refresh_token is required")
    rotation = rotate(ctx, client, form.get("refresh_token"), proof.jkt, form.get("scope"))
    family = rotation.family
    grant = AccessTokenGrant(
        user_id=family.user_id,
        client_id=client.client_id,
        scope=rotation.scope,
        resource=family.resource,
        jkt=family.jkt,
        amr=family.amr,
        auth_time=family.auth_time,
    )
    return _token_response(ctx, grant, rotation.refresh_token)
