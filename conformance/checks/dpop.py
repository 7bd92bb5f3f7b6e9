"""Spec chapter 6: DPoP proofs at the token endpoint (RFC 9449 §4.3).

Each check sends a valid login (fresh challenge, right PIN, valid client assertion) whose DPoP
proof differs from a valid one in exactly one way, and expects 400 invalid_dpop_proof.
"""

from __future__ import annotations

import secrets
import urllib.parse

from conformance.context import Context
from conformance.expectations import expect_error, expect_status
from conformance.jws_crafting import (
    DROP,
    Dropped,
    Overrides,
    encode_jws,
    hs256_with_secret,
    new_key,
    now,
    public_key_pem,
    resign_unsigned,
)
from conformance.raw_http import raw_request
from conformance.registry import check
from conformance.results import CheckFailed
from reference.core.jose import b64u_encode, public_jwk


def _login_with(ctx: Context, proof: str | Dropped, what: str) -> None:
    agent = ctx.shared_agent()
    form = agent.login_form(agent.auth_assertion(agent.challenge()))
    resp = agent.post_token(form, dpop=proof)
    expect_error(resp, "invalid_dpop_proof", what=what)


def _proof(
    ctx: Context, *, header: Overrides | None = None, claims: Overrides | None = None
) -> str:
    agent = ctx.shared_agent()
    return agent.dpop("POST", agent.token_url, header=header, claims=claims)


@check("DPOP-MISSING", section="6.2", title="A token request without a DPoP proof is refused")
def missing(ctx: Context) -> None:
    _login_with(ctx, DROP, "token request without DPoP header")


@check("DPOP-TWO-HEADERS", section="6.2", title="A token request with two DPoP headers is refused")
def two_headers(ctx: Context) -> None:
    agent = ctx.shared_agent()
    form = agent.login_form(agent.auth_assertion(agent.challenge()))
    body = urllib.parse.urlencode(form).encode()
    resp = raw_request(
        "POST",
        agent.token_url,
        body,
        [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("DPoP", _proof(ctx)),
            ("DPoP", _proof(ctx)),
        ],
        timeout=ctx.config.timeout_s,
    )
    try:
        error = resp.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if resp.status != 400 or error != "invalid_dpop_proof":
        raise CheckFailed(
            f"two DPoP headers: expected HTTP 400 invalid_dpop_proof, got HTTP "
            f"{resp.status} {resp.body[:200]!r}"
        )


@check("DPOP-TYP", section="6.2", title="A DPoP proof without typ dpop+jwt is refused")
def typ(ctx: Context) -> None:
    _login_with(ctx, _proof(ctx, header={"typ": "JWT"}), "DPoP proof with typ JWT")


@check("DPOP-ALG-NONE", section="6.2", title="An unsigned DPoP proof (alg none) is refused")
def alg_none(ctx: Context) -> None:
    _login_with(ctx, resign_unsigned(_proof(ctx), {"alg": "none"}), "DPoP proof with alg none")


@check(
    "DPOP-HS256",
    section="6.2",
    title="A DPoP proof MACed with HS256 keyed by its own public key is refused",
)
def hs256(ctx: Context) -> None:
    agent = ctx.shared_agent()
    secret = public_key_pem(public_jwk(agent.dpop_key.public_key()))
    _login_with(ctx, hs256_with_secret(_proof(ctx), secret), "DPoP proof with HS256")


@check(
    "DPOP-SIGNATURE",
    section="6.2",
    title="A DPoP proof not signed by the key in its jwk header is refused",
)
def bad_signature(ctx: Context) -> None:
    agent = ctx.shared_agent()
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk(agent.dpop_key.public_key())}
    claims = {"jti": secrets.token_urlsafe(24), "htm": "POST", "htu": agent.token_url, "iat": now()}
    _login_with(ctx, encode_jws(header, claims, new_key()), "DPoP proof signed by another key")


@check(
    "DPOP-JWK-PRIVATE",
    section="6.2",
    title="A DPoP proof whose jwk contains the private key (d) is refused",
)
def private_jwk(ctx: Context) -> None:
    agent = ctx.shared_agent()
    jwk = public_jwk(agent.dpop_key.public_key())
    d = agent.dpop_key.private_numbers().private_value.to_bytes(32, "big")
    _login_with(
        ctx,
        _proof(ctx, header={"jwk": {**jwk, "d": b64u_encode(d)}}),
        "DPoP proof with a private jwk",
    )


@check("DPOP-HTM", section="6.2", title="A DPoP proof for another HTTP method is refused")
def htm(ctx: Context) -> None:
    _login_with(ctx, _proof(ctx, claims={"htm": "GET"}), "DPoP proof with htm GET")


@check("DPOP-HTU", section="6.2", title="A DPoP proof for another URI (path) is refused")
def htu(ctx: Context) -> None:
    _login_with(
        ctx,
        _proof(ctx, claims={"htu": ctx.issuer + "/introspect"}),
        "DPoP proof with htu of another endpoint",
    )


@check("DPOP-IAT-OLD", section="6.2", title="A DPoP proof issued 5 minutes ago is refused")
def iat_old(ctx: Context) -> None:
    _login_with(ctx, _proof(ctx, claims={"iat": now() - 300}), "DPoP proof with old iat")


@check(
    "DPOP-IAT-FUTURE", section="6.2", title="A DPoP proof issued 5 minutes in the future is refused"
)
def iat_future(ctx: Context) -> None:
    _login_with(ctx, _proof(ctx, claims={"iat": now() + 300}), "DPoP proof with future iat")


@check("DPOP-JTI-REPLAY", section="6.2", title="A DPoP proof (jti) is accepted only once")
def jti_replay(ctx: Context) -> None:
    agent = ctx.shared_agent()
    proof = _proof(ctx)
    first = agent.post_token(agent.login_form(agent.auth_assertion(agent.challenge())), dpop=proof)
    expect_status(first, 200, "first login with the proof")
    _login_with(ctx, proof, "second login with the same DPoP proof")
