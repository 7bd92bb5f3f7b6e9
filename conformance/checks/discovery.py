"""Spec chapter 1: authorization server metadata (RFC 8414) and the JWKS (RFC 7517)."""

from __future__ import annotations

from typing import Any

from conformance.context import DISCOVERY_PATH, Context
from conformance.expectations import expect_status
from conformance.registry import check
from conformance.results import CheckFailed
from reference.core.discovery import ENDPOINT_PATHS
from reference.core.jose import JoseError, jwk_thumbprint, public_key_from_jwk

ENDPOINTS = ENDPOINT_PATHS

REQUIRED_LISTS: dict[str, set[str]] = {
    "grant_types_supported": {
        "urn:mia:params:oauth:grant-type:authenticator-assertion",
        "refresh_token",
    },
    "token_endpoint_auth_methods_supported": {"private_key_jwt", "client_secret_basic"},
    "introspection_endpoint_auth_methods_supported": {"private_key_jwt", "client_secret_basic"},
    "revocation_endpoint_auth_methods_supported": {"private_key_jwt", "client_secret_basic"},
    "mia_attestation_formats_supported": {"platform-attestation+jwt"},
}

# Only ES256 may be offered (spec §1.3): a list with anything else advertises a weaker algorithm.
ES256_ONLY = (
    "token_endpoint_auth_signing_alg_values_supported",
    "dpop_signing_alg_values_supported",
)

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")


@check(
    "DISC-METADATA",
    section="1.1",
    title="Metadata lists the issuer, every endpoint and the supported algorithms",
)
def metadata_members(ctx: Context) -> None:
    resp = ctx.get(DISCOVERY_PATH)
    data = expect_status(resp, 200, f"GET {DISCOVERY_PATH}")
    problems: list[str] = []
    if not resp.headers.get("Content-Type", "").startswith("application/json"):
        problems.append(f"Content-Type is {resp.headers.get('Content-Type')!r}")
    if data.get("issuer") != ctx.issuer:
        problems.append(f"issuer is {data.get('issuer')!r}, expected {ctx.issuer!r}")
    for member, path in ENDPOINTS.items():
        if data.get(member) != ctx.issuer + path:
            problems.append(f"{member} is {data.get(member)!r}, expected {ctx.issuer + path!r}")
    for member, needed in REQUIRED_LISTS.items():
        value = data.get(member)
        if not isinstance(value, list) or not needed <= set(value):
            problems.append(f"{member} must list {sorted(needed)}, got {value!r}")
    for member in ES256_ONLY:
        if data.get(member) != ["ES256"]:
            problems.append(f"{member} must be ['ES256'], got {data.get(member)!r}")
    if data.get("response_types_supported") != []:
        problems.append("response_types_supported must be []")
    resources = data.get("mia_resources")
    if not isinstance(resources, list) or ctx.issuer + "/api" not in resources:
        problems.append(f"mia_resources must list {ctx.issuer + '/api'!r}, got {resources!r}")
    policy = data.get("mia_pin_policy")
    if not isinstance(policy, dict):
        problems.append("mia_pin_policy must be an object")
    else:
        for member, kind in (
            ("length", int),
            ("max_failed_attempts", int),
            ("disallow_sequences", bool),
            ("disallow_repeats", bool),
            ("blocklist", list),
        ):
            if not isinstance(policy.get(member), kind):
                problems.append(f"mia_pin_policy.{member} must be a {kind.__name__}")
    if problems:
        raise CheckFailed("; ".join(problems))


def _jwk_problems(jwk: Any, index: int) -> list[str]:
    if not isinstance(jwk, dict):
        return [f"keys[{index}] is not an object"]
    problems = []
    private = [m for m in PRIVATE_MEMBERS if m in jwk]
    if private:
        problems.append(f"keys[{index}] has private members {private}")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        problems.append(f"keys[{index}] has no kid")
    if jwk.get("use") != "sig" or jwk.get("alg") != "ES256":
        problems.append(f"keys[{index}] must have use 'sig' and alg 'ES256'")
    try:
        public_key_from_jwk({k: v for k, v in jwk.items() if k not in PRIVATE_MEMBERS})
        if isinstance(kid, str) and kid == jwk_thumbprint(jwk):
            problems.append(f"keys[{index}] kid is the key's thumbprint (spec §1.2: random)")
    except (JoseError, KeyError) as exc:
        problems.append(f"keys[{index}] is not an EC P-256 public key: {exc}")
    return problems


@check(
    "DISC-JWKS",
    section="1.2",
    title="JWKS publishes EC P-256 public keys with kid, use and alg, and no private members",
)
def jwks_shape(ctx: Context) -> None:
    url = ctx.endpoint("jwks_uri", "/jwks.json")
    data = expect_status(ctx.get(url), 200, "GET jwks_uri")
    keys = data.get("keys")
    if not isinstance(keys, list) or not keys:
        raise CheckFailed("JWKS must have a non-empty 'keys' list")
    problems = [p for i, jwk in enumerate(keys) for p in _jwk_problems(jwk, i)]
    kids = [k.get("kid") for k in keys if isinstance(k, dict)]
    if len(set(kids)) != len(kids):
        problems.append("kids are not unique")
    if problems:
        raise CheckFailed("; ".join(problems))
