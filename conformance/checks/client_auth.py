"""Spec chapter 3: client authentication (RFC 7523 private_key_jwt, RFC 6749 client_secret_basic).

Every app check sends one client assertion to the challenge endpoint (the cheapest authenticated
call) with exactly one thing changed and expects 401 invalid_client.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from conformance.context import Context
from conformance.expectations import expect_error, expect_status
from conformance.jws_crafting import (
    Overrides,
    hs256_with_secret,
    new_key,
    now,
    public_key_pem,
    resign_unsigned,
    zero_signature,
)
from conformance.registry import check
from conformance.results import CheckFailed
from reference.core.jose import public_jwk


def _refused(
    ctx: Context,
    what: str,
    *,
    header: Overrides | None = None,
    claims: Overrides | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> None:
    agent = ctx.shared_agent()
    assertion = agent.client_assertion(header=header, claims=claims, key=key)
    expect_error(agent.post_challenge(assertion), "invalid_client", what=what)


@check(
    "CA-HAPPY",
    section="3.2",
    title="A valid private_key_jwt client assertion authenticates the app",
)
def assertion_happy(ctx: Context) -> None:
    agent = ctx.shared_agent()
    expect_status(agent.post_challenge(), 201, "challenge with a valid client assertion")


@check(
    "CA-TYP",
    section="3.2",
    title="A client assertion without typ client-authentication+jwt is refused",
)
def assertion_typ(ctx: Context) -> None:
    _refused(ctx, "client assertion with typ JWT", header={"typ": "JWT"})


@check("CA-AUDIENCE", section="3.2", title="A client assertion for another audience is refused")
def assertion_audience(ctx: Context) -> None:
    _refused(
        ctx,
        "client assertion with aud of another server",
        claims={"aud": "https://other-issuer.example"},
    )


@check("CA-EXPIRED", section="3.2", title="An expired client assertion is refused")
def assertion_expired(ctx: Context) -> None:
    t = now()
    _refused(
        ctx, "client assertion that expired 2 minutes ago", claims={"iat": t - 240, "exp": t - 120}
    )


@check("CA-JTI-REPLAY", section="3.2", title="A client assertion (jti) is accepted only once")
def assertion_replay(ctx: Context) -> None:
    agent = ctx.shared_agent()
    assertion = agent.client_assertion()
    expect_status(agent.post_challenge(assertion), 201, "first use of the client assertion")
    expect_error(
        agent.post_challenge(assertion),
        "invalid_client",
        what="second use of the same client assertion",
    )


@check(
    "CA-WRONG-KEY",
    section="3.2",
    title="A client assertion signed by a key other than the registered one is refused",
)
def assertion_wrong_key(ctx: Context) -> None:
    _refused(ctx, "client assertion signed by another key", key=new_key())


@check("CA-ALG-NONE", section="1.3", title="An unsigned client assertion (alg none) is refused")
def assertion_alg_none(ctx: Context) -> None:
    agent = ctx.shared_agent()
    token = resign_unsigned(agent.client_assertion(), {"alg": "none"})
    expect_error(agent.post_challenge(token), "invalid_client", what="client assertion alg none")


@check(
    "CA-HS256",
    section="1.3",
    title="A client assertion MACed with HS256 keyed by the client's public key is refused",
)
def assertion_hs256(ctx: Context) -> None:
    agent = ctx.shared_agent()
    secret = public_key_pem(public_jwk(agent.client_key.public_key()))
    token = hs256_with_secret(agent.client_assertion(), secret)
    expect_error(agent.post_challenge(token), "invalid_client", what="client assertion HS256")


@check(
    "CA-ZERO-SIGNATURE",
    section="1.3",
    title="A client assertion with ECDSA r = s = 0 (CVE-2022-21449) is refused",
)
def assertion_zero_signature(ctx: Context) -> None:
    agent = ctx.shared_agent()
    token = zero_signature(agent.client_assertion())
    expect_error(agent.post_challenge(token), "invalid_client", what="client assertion r=s=0")


@check(
    "RP-SECRET",
    section="3.3",
    title="A relying party with a wrong client secret is refused with invalid_client and "
    "WWW-Authenticate: Basic",
)
def rp_wrong_secret(ctx: Context) -> None:
    resp = ctx.rp.create_enrollment_response(
        f"conformance-{ctx.random_id()}", secret=ctx.config.rp_client_secret + "x"
    )
    expect_error(resp, "invalid_client", what="POST /rp/enrollments with a wrong secret")
    challenge = resp.headers.get("WWW-Authenticate", "")
    if not challenge.lower().startswith("basic"):
        raise CheckFailed(f"WWW-Authenticate must be a Basic challenge, got {challenge!r}")
