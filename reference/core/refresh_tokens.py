"""Refresh tokens with rotation and reuse detection (spec chapter 7; RFC 9700 §4.14.2).

Tokens are opaque random values stored only as SHA-256. All tokens issued from one login form a
family; each use rotates the token atomically. Presenting a token that was already used means a
copy exists somewhere else, so the whole family is revoked.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.core.clock import random_token, secret_hash
from reference.core.errors import InvalidDPoPProof, InvalidGrant, InvalidScope
from reference.core.jose import constant_time_equal
from reference.core.records import ClientRecord, RefreshFamily, RefreshTokenRecord
from reference.core.rules import enforced
from reference.core.settings import ServerContext


@dataclass(frozen=True, slots=True)
class Rotation:
    refresh_token: str
    family: RefreshFamily
    scope: str


def start_family(
    ctx: ServerContext,
    *,
    client_id: str,
    user_id: str,
    authenticator_id: str,
    jkt: str,
    scope: str,
    resource: str,
    amr: tuple[str, ...],
    auth_time: int,
) -> str:
    """§7.1: the first refresh token of a login, bound to the client and the DPoP key."""
    now = ctx.clock.now()
    lifetimes = ctx.settings.lifetimes
    family = RefreshFamily(
        family_id=random_token(16),
        client_id=client_id,
        user_id=user_id,
        authenticator_id=authenticator_id,
        jkt=jkt,
        scope=scope,
        resource=resource,
        amr=amr,
        auth_time=auth_time,
        created_at=now,
        expires_at=now + lifetimes.refresh_family,
    )
    token = random_token(32)
    first = RefreshTokenRecord(
        token_hash=secret_hash(token),
        family_id=family.family_id,
        issued_at=now,
        expires_at=min(now + lifetimes.refresh_token_idle, family.expires_at),
    )
    ctx.storage.add_refresh_family(family, first)
    return token


def rotate(
    ctx: ServerContext,
    client: ClientRecord,
    refresh_token: object,
    jkt: str,
    requested_scope: str | None = None,
) -> Rotation:
    """§7.2–7.3: exchange a refresh token for its successor, exactly once."""
    if not isinstance(refresh_token, str) or not refresh_token:
        raise InvalidGrant("refresh_token is required")
    now = ctx.clock.now()
    token_hash = secret_hash(refresh_token)
    found = ctx.storage.get_refresh_token(token_hash)
    if found is None:
        raise InvalidGrant("unknown refresh token")
    record, family = found
    # §7.2: a refresh token MUST only be used by the client it was issued to ...
    if family.client_id != client.client_id and enforced("refresh.client_binding"):
        raise InvalidGrant("refresh token was issued to another client")
    # ... and with the DPoP key it is bound to (RFC 9449 §5).
    if not constant_time_equal(family.jkt, jkt) and enforced("refresh.sender_constraint"):
        raise InvalidDPoPProof("DPoP key is not the key the refresh token is bound to")
    if family.revoked_at is not None:
        raise InvalidGrant("refresh token revoked")
    if record.used_at is not None and enforced("refresh.single_use"):
        _reuse_detected(ctx, family, now)
    if record.expires_at <= now or family.expires_at <= now:
        raise InvalidGrant("refresh token expired")
    scope = family.scope
    if requested_scope is not None:
        # RFC 6749 §6: a refresh may narrow the scope, never widen it; checked before rotating
        # so a refused request does not spend the token.
        wanted = requested_scope.split()
        if not wanted or not set(wanted) <= set(family.scope.split()):
            raise InvalidScope("requested scope exceeds the original grant")
        scope = " ".join(dict.fromkeys(wanted))
    successor = random_token(32)
    new_record = RefreshTokenRecord(
        token_hash=secret_hash(successor),
        family_id=family.family_id,
        issued_at=now,
        expires_at=min(now + ctx.settings.lifetimes.refresh_token_idle, family.expires_at),
    )
    single_use = enforced("refresh.single_use")
    if not ctx.storage.rotate_refresh_token(token_hash, new_record, now, single_use):
        # A parallel request rotated this token first: that is reuse as well.
        _reuse_detected(ctx, family, now)
    return Rotation(successor, family, scope)


def _reuse_detected(ctx: ServerContext, family: RefreshFamily, now: int) -> None:
    # §7.3: reuse of a rotated refresh token MUST revoke every token of its family.
    if enforced("refresh.reuse_revokes_family"):
        ctx.storage.revoke_refresh_family(family.family_id, now)
    raise InvalidGrant("refresh token already used")


def revoke_family_of(ctx: ServerContext, refresh_token: str, client_id: str | None) -> bool:
    """RFC 7009: revoke the family of a refresh token (if `client_id` owns it, when given)."""
    found = ctx.storage.get_refresh_token(secret_hash(refresh_token))
    if found is None:
        return False
    _, family = found
    if client_id is not None and family.client_id != client_id:
        return False
    if enforced("revocation.refresh_family"):
        ctx.storage.revoke_refresh_family(family.family_id, ctx.clock.now())
    return True


def family_is_active(ctx: ServerContext, refresh_token: str) -> tuple[bool, RefreshFamily | None]:
    found = ctx.storage.get_refresh_token(secret_hash(refresh_token))
    if found is None:
        return False, None
    record, family = found
    now = ctx.clock.now()
    active = (
        family.revoked_at is None
        and record.used_at is None
        and record.expires_at > now
        and family.expires_at > now
    )
    return active, family
