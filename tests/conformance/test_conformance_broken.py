"""Every check must catch a deliberately broken server.

For each check id the table below names how to break the reference server so that exactly the
behaviour the check proves is gone: rule ids relaxed with `reference.core.rules.relaxed`, and,
where no rule fits, a deliberately vulnerable function (defined here) monkeypatched in. The check
is then run alone (`--only`) and must report FAILED.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from conftest import RunningServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import reference.core.jose as jose
from conformance.registry import load_checks
from conformance.results import Outcome
from conformance.runner import run
from reference.core import enrollment as core_enrollment
from reference.core import registration as core_registration
from reference.core import token_endpoint
from reference.core.clock import random_token, secret_hash
from reference.core.errors import InvalidClient, InvalidNonce, InvalidRequest
from reference.core.rules import RULES, relaxed
from reference.qr_codes import qr_png_base64
from reference.sample_api import blueprint as api_blueprint
from reference.sample_api.resource_server import ResourceServer
from reference.storage import SqlStorage
from reference.web import discovery as web_discovery
from reference.web import enrollment as web_enrollment
from reference.web import login as web_login
from reference.web import token_management as web_token_management

Patch = Callable[[pytest.MonkeyPatch], None]


# --- deliberately vulnerable implementations ---------------------------------------------------

_original_es256_verify = jose.es256_verify


def vulnerable_es256_verify(
    signing_input: bytes, signature: bytes, key: ec.EllipticCurvePublicKey
) -> bool:
    """A JOSE library that trusts the header's alg, on a JDK 15-18 style ECDSA verifier.

    alg "none" verifies an empty signature, alg "HS256" a MAC keyed with the public key's PEM
    (key confusion), and r = s = 0 always verifies (CVE-2022-21449).
    """
    header = json.loads(jose.b64u_decode(signing_input.split(b".")[0].decode()))
    alg = header.get("alg")
    if alg == "none":
        return signature == b""
    if alg == "HS256":
        secret = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hmac.compare_digest(
            hmac.new(secret, signing_input, hashlib.sha256).digest(), signature
        )
    if signature == bytes(64):
        return True
    return _original_es256_verify(signing_input, signature, key)


def patch_everywhere(monkeypatch: pytest.MonkeyPatch, name: str, replacement: Any) -> None:
    """Replace `name` in every reference module that imported it."""
    patched = 0
    for module_name, module in list(sys.modules.items()):
        if (
            module_name.startswith("reference.")
            and hasattr(module, name)
            and getattr(module, name) is not replacement
        ):
            monkeypatch.setattr(module, name, replacement)
            patched += 1
    assert patched, f"nothing imports {name}"


def vulnerable_jose(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_everywhere(monkeypatch, "es256_verify", vulnerable_es256_verify)


def metadata_offers_hs256(monkeypatch: pytest.MonkeyPatch) -> None:
    original = web_discovery.authorization_server_metadata

    def metadata(ctx: Any) -> dict[str, Any]:
        data = original(ctx)
        data["dpop_signing_alg_values_supported"] = ["ES256", "HS256"]
        return data

    monkeypatch.setattr(web_discovery, "authorization_server_metadata", metadata)


def jwks_leaks_private_key(monkeypatch: pytest.MonkeyPatch) -> None:
    original = web_discovery.jwks

    def jwks(ctx: Any) -> dict[str, Any]:
        data = original(ctx)
        return {"keys": [{**k, "d": jose.b64u_encode(bytes(32))} for k in data["keys"]]}

    monkeypatch.setattr(web_discovery, "jwks", jwks)


def registration_answer_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    original = core_registration.Registration.as_json

    def as_json(self: Any) -> dict[str, Any]:
        data = original(self)
        data.pop("token_endpoint_auth_method")
        return data

    monkeypatch.setattr(core_registration.Registration, "as_json", as_json)


def accepts_unknown_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    def consume(ctx: Any, nonce: str) -> None:
        use = ctx.storage.use_nonce(core_registration.NONCE_PURPOSE, secret_hash(nonce))
        if use is None:
            return  # the bug: a nonce the server never issued passes
        if use.uses > 1:
            raise InvalidNonce("registration nonce already used")

    monkeypatch.setattr(core_registration, "_consume_nonce", consume)


def refuses_every_app(monkeypatch: pytest.MonkeyPatch) -> None:
    def authenticate(*args: Any, **kwargs: Any) -> Any:
        raise InvalidClient("nobody gets in")

    patch_everywhere(monkeypatch, "authenticate_app", authenticate)


def qr_shows_another_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        web_enrollment, "qr_png_base64", lambda uri: qr_png_base64(uri.replace("code=", "code=x"))
    )


def begin_sends_another_pin_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    original = web_enrollment.begin_enrollment

    def begin(*args: Any) -> core_enrollment.EnrollmentBegun:
        begun = original(*args)
        policy = {**begun.pin_policy, "length": begun.pin_policy["length"] + 1}
        return replace(begun, pin_policy=policy)

    monkeypatch.setattr(web_enrollment, "begin_enrollment", begin)


def status_never_completes(monkeypatch: pytest.MonkeyPatch) -> None:
    original = web_enrollment.enrollment_status

    def status(*args: Any) -> dict[str, Any]:
        return {**original(*args), "status": "pending", "completed_at": None}

    monkeypatch.setattr(web_enrollment, "enrollment_status", status)


def begins_any_code(monkeypatch: pytest.MonkeyPatch) -> None:
    original = web_enrollment.begin_enrollment

    def begin(ctx: Any, client: Any, code: Any) -> Any:
        try:
            return original(ctx, client, code)
        except Exception:
            pin_policy = ctx.policy.current().pin.as_json()
            return core_enrollment.EnrollmentBegun(random_token(32), "Anyone", pin_policy, 300)

    monkeypatch.setattr(web_enrollment, "begin_enrollment", begin)


def tokens_cacheable(monkeypatch: pytest.MonkeyPatch) -> None:
    from flask import Response, jsonify

    def cacheable(payload: Any, status: int = 200) -> Response:
        response = jsonify(payload)
        response.status_code = status
        return response

    monkeypatch.setattr(web_login, "no_store", cacheable)


def never_resets_pin_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SqlStorage, "reset_pin_failures", lambda self, authenticator_id: None)


def first_of_many_dpop_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    original = token_endpoint.verify_dpop_proof

    def verify(ctx: Any, proofs: Any, **kwargs: Any) -> Any:
        return original(ctx, [p.split(",")[0] for p in proofs][:1], **kwargs)

    monkeypatch.setattr(token_endpoint, "verify_dpop_proof", verify)


def bearer_token_type(monkeypatch: pytest.MonkeyPatch) -> None:
    original = token_endpoint._token_response

    def response(*args: Any) -> dict[str, Any]:
        return {**original(*args), "token_type": "Bearer"}

    monkeypatch.setattr(token_endpoint, "_token_response", response)


def introspection_without_cnf(monkeypatch: pytest.MonkeyPatch) -> None:
    original = web_token_management.introspect

    def introspect(*args: Any) -> dict[str, Any]:
        data = original(*args)
        data.pop("cnf", None)
        return data

    monkeypatch.setattr(web_token_management, "introspect", introspect)


def introspection_rejects_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    original = web_token_management.introspect

    def introspect(ctx: Any, caller: Any, token: Any, hint: Any = None) -> dict[str, Any]:
        if isinstance(token, str) and token.count(".") != 2:
            raise InvalidRequest("that is not a token")
        return original(ctx, caller, token, hint)

    monkeypatch.setattr(web_token_management, "introspect", introspect)


def revocation_rejects_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    original = web_token_management.revoke
    introspect = web_token_management.introspect

    def revoke(ctx: Any, caller: Any, token: Any, hint: Any = None) -> None:
        active = introspect(ctx, caller, token, hint).get("active")
        original(ctx, caller, token, hint)
        if not active:
            raise InvalidRequest("unknown token")

    monkeypatch.setattr(web_token_management, "revoke", revoke)


def api_answers_for_someone_else(monkeypatch: pytest.MonkeyPatch) -> None:
    original = ResourceServer.authenticate

    def authenticate(self: ResourceServer, *args: Any, **kwargs: Any) -> Any:
        return replace(original(self, *args, **kwargs), sub="someone-else")

    monkeypatch.setattr(ResourceServer, "authenticate", authenticate)


def api_without_challenge(monkeypatch: pytest.MonkeyPatch) -> None:
    original = api_blueprint._unauthorized

    def unauthorized(error: Any) -> Any:
        response = original(error)
        del response.headers["WWW-Authenticate"]
        return response

    monkeypatch.setattr(api_blueprint, "_unauthorized", unauthorized)


def crashes_on_non_object_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from flask import request

    def json_body() -> Any:
        return request.get_json(force=True, silent=True) or {}  # the bug: lists, strings pass

    patch_everywhere(monkeypatch, "json_body", json_body)


# --- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    rules: tuple[str, ...] = ()
    patches: tuple[Patch, ...] = ()
    short_lived: bool = False  # run against the server with 2-second lifetimes
    extra_config: dict[str, Any] = field(default_factory=dict)


def rules(*ids: str, short_lived: bool = False) -> Break:
    return Break(rules=ids, short_lived=short_lived)


def patched(*patches: Patch, rules: tuple[str, ...] = ()) -> Break:
    return Break(rules=rules, patches=patches)


ALG = "jws.alg_allow_list"

BREAKS: dict[str, Break] = {
    "DISC-METADATA": patched(metadata_offers_hs256),
    "DISC-JWKS": patched(jwks_leaks_private_key),
    "REG-HAPPY": patched(registration_answer_incomplete),
    "REG-NONCE-REUSE": rules("registration.nonce_single_use"),
    "REG-NONCE-UNKNOWN": patched(accepts_unknown_nonces),
    "REG-NONCE-EXPIRED": rules("registration.nonce_expiry", short_lived=True),
    "REG-APP-TAMPERED": rules("registration.app_integrity"),
    "REG-DEVICE-ROOTED": rules("registration.device_integrity"),
    "REG-DEVICE-EMULATOR": rules("registration.device_integrity"),
    "REG-OS-OUTDATED": rules("registration.os_version"),
    "REG-VERSION-DISABLED": rules("registration.app_version"),
    "REG-VERSION-LOGIN-ONLY": rules("registration.app_version"),
    "REG-ATTESTATION-UNTRUSTED-CA": rules("attestation.chain"),
    "REG-ATTESTATION-PAYLOAD-BYTE": rules("attestation.signature"),
    "REG-ATTESTATION-TYP": rules("attestation.typ"),
    "REG-ATTESTATION-EXPIRED": rules("attestation.freshness"),
    "REG-ATTESTATION-ALG-NONE": patched(vulnerable_jose, rules=(ALG,)),
    "CA-HAPPY": patched(refuses_every_app),
    "CA-TYP": rules("client_auth.typ"),
    "CA-AUDIENCE": rules("client_auth.audience"),
    "CA-EXPIRED": rules("client_auth.expiry"),
    "CA-JTI-REPLAY": rules("client_auth.jti_single_use"),
    "CA-WRONG-KEY": rules("client_auth.signature"),
    "CA-ALG-NONE": patched(vulnerable_jose, rules=(ALG,)),
    "CA-HS256": patched(vulnerable_jose, rules=(ALG,)),
    "CA-ZERO-SIGNATURE": patched(vulnerable_jose),
    "RP-SECRET": rules("rp_auth.secret"),
    "ENR-CREATE": patched(qr_shows_another_uri),
    "ENR-STATUS": patched(status_never_completes),
    "ENR-PIN-POLICY": patched(begin_sends_another_pin_policy),
    "ENR-CODE-REUSE": rules("enrollment.code_single_use"),
    "ENR-CODE-UNKNOWN": patched(begins_any_code),
    "ENR-CODE-EXPIRED": rules("enrollment.code_expiry", short_lived=True),
    "ENR-SESSION-OTHER-CLIENT": rules("enrollment.session_binding"),
    "ENR-SESSION-REUSE": rules("enrollment.code_single_use"),
    "LOGIN-HAPPY": patched(tokens_cacheable),
    "LOGIN-CHALLENGE-REUSE": rules("login.challenge_single_use"),
    "LOGIN-CHALLENGE-OTHER-CLIENT": rules("login.challenge_binding"),
    "LOGIN-CHALLENGE-EXPIRED": rules("login.challenge_expiry", short_lived=True),
    "LOGIN-ASSERTION-TYP": rules("login.assertion_typ"),
    "LOGIN-ASSERTION-AUDIENCE": rules("login.assertion_audience"),
    "LOGIN-ASSERTION-ALG-NONE": patched(vulnerable_jose, rules=(ALG,)),
    "LOGIN-PIN-COUNTDOWN": rules("pin.failure_limit"),
    "LOGIN-PIN-RESET": patched(never_resets_pin_failures),
    "LOGIN-PIN-PARALLEL": rules("pin.failure_limit"),
    "LOGIN-APP-DISABLED": rules("login.app_version"),
    "DPOP-MISSING": rules("dpop.required"),
    "DPOP-TWO-HEADERS": patched(first_of_many_dpop_headers),
    "DPOP-TYP": rules("dpop.typ"),
    "DPOP-ALG-NONE": patched(vulnerable_jose, rules=("dpop.alg",)),
    "DPOP-HS256": patched(vulnerable_jose, rules=("dpop.alg",)),
    "DPOP-SIGNATURE": rules("dpop.signature"),
    "DPOP-JWK-PRIVATE": rules("dpop.private_key"),
    "DPOP-HTM": rules("dpop.htm"),
    "DPOP-HTU": rules("dpop.htu"),
    "DPOP-IAT-OLD": rules("dpop.iat"),
    "DPOP-IAT-FUTURE": rules("dpop.iat"),
    "DPOP-JTI-REPLAY": rules("dpop.jti_replay"),
    "REFRESH-HAPPY": patched(bearer_token_type),
    "REFRESH-PARALLEL": rules("refresh.single_use"),
    "REFRESH-REUSE-REVOKES-FAMILY": rules("refresh.reuse_revokes_family"),
    "REFRESH-OTHER-DPOP-KEY": rules("refresh.sender_constraint"),
    "REFRESH-OTHER-CLIENT": rules("refresh.client_binding"),
    "INTRO-ACTIVE": patched(introspection_without_cnf),
    "INTRO-REVOKED": rules("introspection.revoked_inactive"),
    "INTRO-GARBAGE": patched(introspection_rejects_garbage),
    "REVOKE-REFRESH-FAMILY": rules("revocation.refresh_family"),
    "REVOKE-UNKNOWN": patched(revocation_rejects_unknown),
    "API-HAPPY": patched(api_answers_for_someone_else),
    "API-NO-TOKEN": patched(api_without_challenge),
    "API-ATH-MISSING": rules("dpop.ath"),
    "API-ATH-WRONG": rules("dpop.ath"),
    "API-KEY-NOT-BOUND": rules("dpop.binding"),
    "API-TOKEN-ALG-NONE": patched(vulnerable_jose, rules=(ALG,)),
    "API-TOKEN-HS256": patched(vulnerable_jose, rules=(ALG,)),
    "API-TOKEN-ZERO-SIGNATURE": patched(vulnerable_jose),
    "API-TOKEN-CLAIM-BYTE": rules("api.signature"),
    "API-TOKEN-AUDIENCE": rules("api.audience"),
    "API-TOKEN-EXPIRED": rules("api.expiry", short_lived=True),
    "PROP-FLIP-CLIENT-ASSERTION": rules("client_auth.signature"),
    "PROP-FLIP-DPOP-PROOF": rules("dpop.signature"),
    "PROP-FLIP-AUTH-ASSERTION": rules("login.assertion_signature"),
    "PROP-FLIP-ACCESS-TOKEN": rules("api.signature"),
    "PROP-ONCE-NONCE": rules("registration.nonce_single_use"),
    "PROP-ONCE-CHALLENGE": rules("login.challenge_single_use"),
    "PROP-ONCE-CODE": rules("enrollment.code_single_use"),
    "PROP-ONCE-REFRESH": rules("refresh.single_use"),
    "ROB-FUZZ-NO-5XX": patched(crashes_on_non_object_json),
}

#: Rules no black-box check can prove: a client cannot mint a server-signed access token with
#: another typ or issuer, so relaxing them changes nothing a conformance check can observe.
RULES_WITHOUT_CHECK = {"api.typ", "api.issuer"}


@contextmanager
def broken(breaker: Break, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for apply in breaker.patches:
        apply(monkeypatch)
    try:
        with relaxed(*breaker.rules):
            yield
    finally:
        monkeypatch.undo()


def test_every_check_has_a_breaker() -> None:
    registered = {c.id for c in load_checks()}
    assert registered == set(BREAKS), (
        f"checks without a breaker: {sorted(registered - set(BREAKS))}; "
        f"breakers without a check: {sorted(set(BREAKS) - registered)}"
    )


def test_every_rule_is_proved_by_a_check() -> None:
    used = {rule for b in BREAKS.values() for rule in b.rules}
    assert set(RULES) - used == RULES_WITHOUT_CHECK


#: Checks citing another section than their breaking rule's, and why.
SECTION_EXCEPTIONS = {
    # docs/spec §4.4 states "session used once" and tags it [enrollment.session_binding]; the
    # reference server enforces it under `enrollment.code_single_use` (spec §4.3).
    "ENR-SESSION-REUSE": "4.4",
}


def test_sections_match_the_rules() -> None:
    """A check that breaks with one rule cites that rule's spec section."""
    by_id = {c.id: c for c in load_checks()}
    for check_id, breaker in BREAKS.items():
        sections = {RULES[r] for r in breaker.rules if r != ALG}
        if check_id in SECTION_EXCEPTIONS:
            assert by_id[check_id].section == SECTION_EXCEPTIONS[check_id]
        elif len(sections) == 1 and not breaker.patches:
            assert by_id[check_id].section in sections, check_id


@pytest.mark.parametrize("check_id", sorted(BREAKS))
def test_check_catches_broken_server(
    check_id: str,
    mia_server: RunningServer,
    short_lived_server: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    breaker = BREAKS[check_id]
    target = short_lived_server if breaker.short_lived else mia_server
    ctx = target.context(**breaker.extra_config)
    try:
        ctx.metadata  # noqa: B018 - discovery before the server is broken
        with broken(breaker, monkeypatch):
            result = run(ctx, only=[check_id])
    finally:
        ctx.close()
    [outcome] = result.results
    assert outcome.result is Outcome.FAILED, (
        f"{check_id} did not catch the broken server: {outcome.result.value} {outcome.reason}"
    )
    # Caught by an assertion about the protocol, not by a crash inside the check.
    assert not re.match(r"^[A-Za-z]+(Error|Exception): ", outcome.reason), outcome.reason
    # ... and not by the broken variant itself crashing: a 5xx would fail any check.
    if check_id != "ROB-FUZZ-NO-5XX":
        assert "HTTP 500" not in outcome.reason, outcome.reason
