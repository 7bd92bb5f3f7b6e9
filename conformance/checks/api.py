"""Spec chapters 6.3 and 9: the protected API checks DPoP-bound access tokens (RFC 9068, 9449)."""

from __future__ import annotations

import re

from conformance.agent import Agent
from conformance.context import Context
from conformance.expectations import expect_error, expect_status
from conformance.jws_crafting import (
    DROP,
    hs256_with_secret,
    new_key,
    public_key_pem,
    resign_unsigned,
    split,
    zero_signature,
)
from conformance.registry import check
from conformance.results import CheckFailed, CheckSkipped
from reference.core.jose import b64u_decode, b64u_encode

API_PATH = "/api/me"


def _token(ctx: Context, resource: str | None = None) -> tuple[Agent, str]:
    agent = ctx.shared_agent()
    return agent, str(agent.login(resource=resource)["access_token"])


def _www_authenticate(resp_headers: dict[str, str] | object, error: str) -> str | None:
    value = getattr(resp_headers, "get", lambda *_: None)("WWW-Authenticate") or ""
    if not value.startswith("DPoP") or f'error="{error}"' not in value:
        return f'WWW-Authenticate must be a DPoP challenge with error="{error}", got {value!r}'
    return None


def _refused_token(ctx: Context, agent: Agent, token: str, what: str) -> None:
    resp = agent.api(API_PATH, token)  # the proof's ath matches the presented token
    expect_error(resp, "invalid_token", 401, what=what)
    problem = _www_authenticate(resp.headers, "invalid_token")
    if problem:
        raise CheckFailed(f"{what}: {problem}")


def _refused_proof(ctx: Context, agent: Agent, token: str, proof: str, what: str) -> None:
    resp = agent.api(API_PATH, token, proof=proof)
    expect_error(resp, "invalid_dpop_proof", 401, what=what)
    problem = _www_authenticate(resp.headers, "invalid_dpop_proof")
    if problem:
        raise CheckFailed(f"{what}: {problem}")


@check(
    "API-HAPPY",
    section="9.1",
    title="A DPoP-bound access token with a matching proof reads the protected API",
)
def api_happy(ctx: Context) -> None:
    device, enrollment = ctx.enrolled_device()
    device.login(pin=ctx.valid_pin)
    answer = device.call_api(API_PATH)
    if answer.status != 200 or not isinstance(answer.json, dict):
        raise CheckFailed(f"simulator call_api: HTTP {answer.status} {answer.json!r}")
    if answer.json.get("sub") != enrollment["user_id"]:
        raise CheckFailed(
            f"/api/me sub is {answer.json.get('sub')!r}, expected {enrollment['user_id']!r}"
        )
    agent, token = _token(ctx)
    data = expect_status(agent.api(API_PATH, token), 200, f"GET {API_PATH}")
    if data.get("sub") != agent.user_id or data.get("client_id") != agent.client_id:
        raise CheckFailed(f"/api/me answered {data!r}")


@check(
    "API-NO-TOKEN",
    section="9.3",
    title="A call without an access token gets 401 with a DPoP challenge",
)
def no_token(ctx: Context) -> None:
    resp = ctx.get(API_PATH)
    if resp.status_code != 401:
        raise CheckFailed(f"GET {API_PATH} without a token: expected 401, got {resp.status_code}")
    value = resp.headers.get("WWW-Authenticate", "")
    if not value.startswith("DPoP") or "ES256" not in value:
        raise CheckFailed(
            f'WWW-Authenticate must be a DPoP challenge with algs="ES256", got {value!r}'
        )


@check(
    "API-ATH-MISSING",
    section="6.3",
    title="A proof without ath at the API is refused: 401 invalid_dpop_proof",
)
def ath_missing(ctx: Context) -> None:
    agent, token = _token(ctx)
    proof = agent.dpop("GET", ctx.issuer + API_PATH, access_token=token, claims={"ath": DROP})
    _refused_proof(ctx, agent, token, proof, "proof without ath")


@check(
    "API-ATH-WRONG",
    section="6.3",
    title="A proof whose ath is another token's hash is refused: 401 invalid_dpop_proof",
)
def ath_wrong(ctx: Context) -> None:
    agent, token = _token(ctx)
    proof = agent.dpop("GET", ctx.issuer + API_PATH, access_token=token + "x")
    _refused_proof(ctx, agent, token, proof, "proof with the ath of another token")


@check(
    "API-KEY-NOT-BOUND",
    section="6.3",
    title="A proof by a key other than the token's cnf.jkt is refused: 401 invalid_dpop_proof",
)
def key_not_bound(ctx: Context) -> None:
    agent, token = _token(ctx)
    proof = agent.dpop("GET", ctx.issuer + API_PATH, access_token=token, key=new_key())
    _refused_proof(ctx, agent, token, proof, "proof by a key the token is not bound to")


def _server_key_pem(ctx: Context, token: str) -> bytes:
    kid = split(token)[0].get("kid")
    for jwk in ctx.jwks.get("keys", []):
        if isinstance(jwk, dict) and jwk.get("kid") == kid:
            return public_key_pem(jwk)
    raise CheckFailed(f"the access token's kid {kid!r} is not in the JWKS")


@check(
    "API-TOKEN-ALG-NONE",
    section="1.3",
    title="An unsigned access token (alg none) is refused: 401 invalid_token",
)
def token_alg_none(ctx: Context) -> None:
    agent, token = _token(ctx)
    _refused_token(ctx, agent, resign_unsigned(token, {"alg": "none"}), "access token alg none")


@check(
    "API-TOKEN-HS256",
    section="1.3",
    title="An access token MACed with HS256 keyed by the server's public key is refused",
)
def token_hs256(ctx: Context) -> None:
    agent, token = _token(ctx)
    forged = hs256_with_secret(token, _server_key_pem(ctx, token))
    _refused_token(ctx, agent, forged, "access token HS256 with the JWKS key as secret")


@check(
    "API-TOKEN-ZERO-SIGNATURE",
    section="1.3",
    title="An access token with ECDSA r = s = 0 (CVE-2022-21449) is refused",
)
def token_zero_signature(ctx: Context) -> None:
    agent, token = _token(ctx)
    _refused_token(ctx, agent, zero_signature(token), "access token with r = s = 0")


def _change_claim_byte(token: str) -> str:
    """Change one character of the jti claim: still valid JSON, only the signature can tell."""
    head, body, sig = token.split(".")
    payload = bytearray(b64u_decode(body))
    match = re.search(rb'"jti":"([A-Za-z0-9_-])', bytes(payload))
    if match is None:
        raise CheckFailed("access token has no jti to change")
    index = match.start(1)
    payload[index] = ord("B") if payload[index] == ord("A") else ord("A")
    return f"{head}.{b64u_encode(bytes(payload))}.{sig}"


@check(
    "API-TOKEN-CLAIM-BYTE",
    section="9.2",
    title="An access token with one changed claim byte is refused: 401 invalid_token",
)
def token_changed_byte(ctx: Context) -> None:
    agent, token = _token(ctx)
    _refused_token(ctx, agent, _change_claim_byte(token), "access token with a changed jti")


@check(
    "API-TOKEN-AUDIENCE",
    section="9.2",
    title="An access token issued for another resource is refused: 401 invalid_token",
)
def token_audience(ctx: Context) -> None:
    others = [r for r in ctx.resources if r != ctx.issuer + "/api"]
    if not others:
        raise CheckSkipped("mia_resources lists no other resource to request a token for")
    agent, token = _token(ctx, resource=others[0])
    _refused_token(ctx, agent, token, f"access token for {others[0]}")


@check(
    "API-TOKEN-EXPIRED",
    section="9.2",
    title="An expired access token is refused: 401 invalid_token",
)
def token_expired(ctx: Context) -> None:
    agent = ctx.shared_agent()
    tokens = agent.login()
    ctx.wait_for_expiry(tokens.get("expires_in"), "the access token")
    _refused_token(ctx, agent, str(tokens["access_token"]), "expired access token")
