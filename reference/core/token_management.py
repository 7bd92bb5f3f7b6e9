"""Token introspection (RFC 7662) and revocation (RFC 7009); spec chapter 8.

Callers are relying-party backends (which may inspect and revoke any token) or apps (which may
only touch tokens issued to them, RFC 7009 §2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reference.core.access_tokens import read_own_access_token
from reference.core.errors import InvalidRequest
from reference.core.refresh_tokens import family_is_active, revoke_family_of
from reference.core.rules import enforced
from reference.core.settings import ServerContext

INACTIVE: dict[str, Any] = {"active": False}


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: a relying party, or an app installation (`client_id`)."""

    relying_party: str | None = None
    client_id: str | None = None

    def may_see(self, owner_client_id: str) -> bool:
        return self.relying_party is not None or self.client_id == owner_client_id


def _token(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequest("token is required")
    return value


def introspect(ctx: ServerContext, caller: Caller, token: Any, hint: Any = None) -> dict[str, Any]:
    """RFC 7662 §2.2: active=true only for a live token the caller may see."""
    token = _token(token)
    if hint != "refresh_token":
        claims = read_own_access_token(ctx, token)
        if claims is not None:
            revoked = ctx.storage.is_access_token_revoked(str(claims.get("jti")))
            if revoked and enforced("introspection.revoked_inactive"):
                return dict(INACTIVE)
            if not caller.may_see(str(claims.get("client_id"))):
                return dict(INACTIVE)
            return {
                "active": True,
                "token_type": "DPoP",
                **{
                    name: claims[name]
                    for name in (
                        "iss",
                        "sub",
                        "aud",
                        "client_id",
                        "scope",
                        "exp",
                        "iat",
                        "jti",
                        "cnf",
                    )
                    if name in claims
                },
            }
    active, family = family_is_active(ctx, token)
    if not active or family is None or not caller.may_see(family.client_id):
        return dict(INACTIVE)
    return {
        "active": True,
        "token_type": "refresh_token",
        "iss": ctx.settings.issuer,
        "sub": family.user_id,
        "client_id": family.client_id,
        "scope": family.scope,
        "exp": family.expires_at,
        "cnf": {"jkt": family.jkt},
    }


def revoke(ctx: ServerContext, caller: Caller, token: Any, hint: Any = None) -> None:
    """RFC 7009 §2.2: succeed silently for unknown tokens; refresh → family, access → jti."""
    token = _token(token)
    owner = None if caller.relying_party is not None else caller.client_id
    if hint != "access_token" and revoke_family_of(ctx, token, owner):
        return
    claims = read_own_access_token(ctx, token)
    if claims is not None and caller.may_see(str(claims.get("client_id"))):
        ctx.storage.revoke_access_token(str(claims.get("jti")), int(claims["exp"]))
