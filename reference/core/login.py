"""PIN login (spec chapter 5): challenge, authenticator assertion, atomic failure counting.

The PIN never reaches the server. The app recovers its PIN key from camouflaged storage (§5.1);
a wrong PIN yields a different, equally valid-looking key, so the only place a guess can be tested
is here, where each failed signature counts against the policy's limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reference.core.clock import random_token, secret_hash
from reference.core.errors import (
    AppUpdateRequired,
    AuthenticatorLocked,
    InvalidGrant,
    PinIncorrect,
)
from reference.core.jose import JoseError, decode_unverified, es256_verify, public_key_from_jwk
from reference.core.records import AuthenticatorRecord, ClientRecord
from reference.core.rules import enforced
from reference.core.settings import ServerContext

CHALLENGE_PURPOSE = "login"
ASSERTION_TYP = "authenticator-assertion+jwt"
ALLOWED_AMR = frozenset({"pin"})


@dataclass(frozen=True, slots=True)
class Challenge:
    challenge: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class VerifiedLogin:
    authenticator: AuthenticatorRecord
    amr: tuple[str, ...]
    auth_time: int


def require_login_allowed(ctx: ServerContext, client: ClientRecord) -> None:
    """§5.2: a disabled app version may not log in; login-only versions may."""
    app = ctx.policy.current().apps.get(client.app_id)
    status = app.version_status(client.app_version) if app else "disabled"
    if status == "disabled" and enforced("login.app_version"):
        raise AppUpdateRequired(f"app version {client.app_version} is no longer allowed")


def issue_challenge(ctx: ServerContext, client: ClientRecord) -> Challenge:
    """§5.2: a single-use challenge bound to the client, stored as a hash."""
    require_login_allowed(ctx, client)
    challenge = random_token(32)
    lifetime = ctx.settings.lifetimes.login_challenge
    ctx.storage.put_nonce(
        CHALLENGE_PURPOSE, secret_hash(challenge), client.client_id, ctx.clock.now() + lifetime
    )
    return Challenge(challenge, lifetime)


def _consume_challenge(ctx: ServerContext, client: ClientRecord, challenge: Any) -> None:
    if not isinstance(challenge, str) or not challenge:
        raise InvalidGrant("assertion lacks a challenge")
    use = ctx.storage.use_nonce(CHALLENGE_PURPOSE, secret_hash(challenge))
    if use is None:
        raise InvalidGrant("unknown challenge")
    # §5.2: a challenge MUST be used once, by the client it was issued to, before it expires.
    if use.uses > 1 and enforced("login.challenge_single_use"):
        raise InvalidGrant("challenge already used")
    if use.owner != client.client_id and enforced("login.challenge_binding"):
        raise InvalidGrant("challenge was issued to another client")
    if use.expires_at <= ctx.clock.now() and enforced("login.challenge_expiry"):
        raise InvalidGrant("challenge expired")


def verify_authenticator_assertion(
    ctx: ServerContext, client: ClientRecord, assertion: Any
) -> VerifiedLogin:
    """§5.3–5.4: check the assertion; count a bad signature as a wrong PIN, atomically."""
    if not isinstance(assertion, str):
        raise InvalidGrant("assertion is required")
    try:
        decoded = decode_unverified(assertion)
    except JoseError as exc:
        raise InvalidGrant(f"malformed assertion: {exc}") from exc
    header, claims = decoded.header, decoded.claims
    if header.get("typ") != ASSERTION_TYP and enforced("login.assertion_typ"):
        raise InvalidGrant("assertion typ must be authenticator-assertion+jwt")
    if header.get("alg") != "ES256" and enforced("jws.alg_allow_list"):
        raise InvalidGrant("assertion alg must be ES256")
    if claims.get("aud") != ctx.settings.issuer and enforced("login.assertion_audience"):
        raise InvalidGrant("assertion aud must be the issuer")
    if claims.get("iss") != client.client_id:
        raise InvalidGrant("assertion iss must be the client_id")
    amr = claims.get("amr", ["pin"])
    if not isinstance(amr, list) or not amr or not set(amr) <= ALLOWED_AMR:
        raise InvalidGrant('assertion amr must be ["pin"]')
    _consume_challenge(ctx, client, claims.get("challenge"))
    authenticator_id = header.get("kid")
    authenticator = (
        ctx.storage.get_authenticator(authenticator_id)
        if isinstance(authenticator_id, str)
        else None
    )
    if (
        authenticator is None
        or authenticator.status != "active"
        or authenticator.client_id != client.client_id
    ):
        raise InvalidGrant("unknown authenticator")
    require_login_allowed(ctx, client)
    key = public_key_from_jwk(authenticator.public_jwk)
    signature_valid = es256_verify(decoded.signing_input, decoded.signature, key)
    if not signature_valid and enforced("login.assertion_signature"):
        _count_wrong_pin(ctx, authenticator)
    if authenticator.failures:
        ctx.storage.reset_pin_failures(authenticator.authenticator_id)
    return VerifiedLogin(authenticator, tuple(amr), ctx.clock.now())


def _count_wrong_pin(ctx: ServerContext, authenticator: AuthenticatorRecord) -> None:
    limit = ctx.policy.current().pin.max_failed_attempts
    enforced_limit = limit if enforced("pin.failure_limit") else None
    failures, locked = ctx.storage.record_pin_failure(
        authenticator.authenticator_id, enforced_limit, ctx.clock.now()
    )
    if failures == 0:
        # Locked by a concurrent request between our read and this update.
        raise InvalidGrant("unknown authenticator")
    # §5.4: at the limit the authenticator is removed and the app must enroll again.
    if locked:
        raise AuthenticatorLocked("too many wrong PINs", attempts_remaining=0)
    raise PinIncorrect("wrong PIN", attempts_remaining=max(limit - failures, 0))
