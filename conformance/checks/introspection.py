"""Spec chapter 8: introspection (RFC 7662) and revocation (RFC 7009)."""

from __future__ import annotations

import secrets

from conformance.context import Context
from conformance.expectations import expect_error, expect_status
from conformance.jws_crafting import split
from conformance.registry import check
from conformance.results import CheckFailed


@check(
    "INTRO-ACTIVE",
    section="8.1",
    title="Introspection of a live access token says active with its claims",
)
def introspect_active(ctx: Context) -> None:
    agent = ctx.shared_agent()
    access = str(agent.login()["access_token"])
    _, claims, _ = split(access)
    problems = []
    for who, resp in (
        ("relying party", ctx.rp.introspect(access, "access_token")),
        ("the app itself", agent.introspect(access, "access_token")),
    ):
        data = expect_status(resp, 200, f"introspection by {who}")
        if data.get("active") is not True:
            problems.append(f"{who}: active is {data.get('active')!r}")
            continue
        for name in ("sub", "client_id", "exp", "jti", "iss"):
            if data.get(name) != claims.get(name):
                problems.append(
                    f"{who}: {name} is {data.get(name)!r}, token says {claims.get(name)!r}"
                )
        if data.get("token_type") != "DPoP" or data.get("cnf") != claims.get("cnf"):
            problems.append(f"{who}: token_type must be DPoP and cnf the token's cnf")
    if problems:
        raise CheckFailed("; ".join(problems))


@check(
    "INTRO-REVOKED", section="8.1", title="Introspection of a revoked access token says inactive"
)
def introspect_revoked(ctx: Context) -> None:
    agent = ctx.shared_agent()
    access = str(agent.login()["access_token"])
    expect_status(agent.revoke(access, "access_token"), 200, "revocation of the access token")
    data = expect_status(ctx.rp.introspect(access), 200, "introspection after revocation")
    if data != {"active": False}:
        raise CheckFailed(
            f"a revoked access token must introspect as {{'active': false}}, got {data!r}"
        )


@check(
    "INTRO-GARBAGE", section="8.1", title='Introspection of garbage answers 200 {"active": false}'
)
def introspect_garbage(ctx: Context) -> None:
    for token in ("garbage", secrets.token_urlsafe(32), "a.b.c"):
        data = expect_status(ctx.rp.introspect(token), 200, f"introspection of {token!r}")
        if data != {"active": False}:
            raise CheckFailed(
                f"introspection of {token!r} must be {{'active': false}}, got {data!r}"
            )


@check(
    "REVOKE-REFRESH-FAMILY",
    section="8.2",
    title="Revoking a refresh token revokes its whole family",
)
def revoke_family(ctx: Context) -> None:
    agent = ctx.shared_agent()
    first = str(agent.login()["refresh_token"])
    newer = str(expect_status(agent.refresh_response(first), 200, "refresh")["refresh_token"])
    # Revoke the rotated (already used) token: only family revocation can kill the newer one.
    expect_status(agent.revoke(first, "refresh_token"), 200, "revocation of the old token")
    expect_error(
        agent.refresh_response(newer),
        "invalid_grant",
        what="refresh with the newest token of the revoked family",
    )


@check("REVOKE-UNKNOWN", section="8.2", title="Revoking an unknown token answers 200")
def revoke_unknown(ctx: Context) -> None:
    expect_status(ctx.rp.revoke(secrets.token_urlsafe(32)), 200, "revocation of an unknown token")
