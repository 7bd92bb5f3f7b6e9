"""How to break the reference server so that each conformance check must fail.

For each check id the BREAKS table names how to break the reference server so that exactly the
behaviour the check proves is gone: rule ids relaxed with `reference.core.rules.relaxed`, and,
where no rule fits, a deliberately vulnerable function (vulnerable_server.py) monkeypatched in.
`broken(...)` applies a breaker for the duration of a `with` block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from vulnerable_server import (
    accepts_unknown_nonces,
    api_answers_for_someone_else,
    api_without_challenge,
    bearer_token_type,
    begin_sends_another_pin_policy,
    begins_any_code,
    crashes_on_non_object_json,
    first_of_many_dpop_headers,
    introspection_rejects_garbage,
    introspection_without_cnf,
    jwks_leaks_private_key,
    metadata_offers_hs256,
    never_resets_pin_failures,
    qr_shows_another_uri,
    refuses_every_app,
    registration_answer_incomplete,
    revocation_rejects_unknown,
    status_never_completes,
    tokens_cacheable,
    vulnerable_jose,
)

from reference.core.rules import relaxed

Patch = Callable[[pytest.MonkeyPatch], None]


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

#: A JOSE library that trusts the header's alg, let through the alg allow-list.
TRUSTS_HEADER_ALG = patched(vulnerable_jose, rules=(ALG,))
#: The same, let through the DPoP proof's alg check.
DPOP_TRUSTS_HEADER_ALG = patched(vulnerable_jose, rules=("dpop.alg",))
#: An ECDSA verifier that accepts r = s = 0 (CVE-2022-21449).
ACCEPTS_ZERO_SIGNATURE = patched(vulnerable_jose)

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
    "REG-ATTESTATION-ALG-NONE": TRUSTS_HEADER_ALG,
    "CA-HAPPY": patched(refuses_every_app),
    "CA-TYP": rules("client_auth.typ"),
    "CA-AUDIENCE": rules("client_auth.audience"),
    "CA-EXPIRED": rules("client_auth.expiry"),
    "CA-JTI-REPLAY": rules("client_auth.jti_single_use"),
    "CA-WRONG-KEY": rules("client_auth.signature"),
    "CA-ALG-NONE": TRUSTS_HEADER_ALG,
    "CA-HS256": TRUSTS_HEADER_ALG,
    "CA-ZERO-SIGNATURE": ACCEPTS_ZERO_SIGNATURE,
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
    "LOGIN-ASSERTION-ALG-NONE": TRUSTS_HEADER_ALG,
    "LOGIN-PIN-COUNTDOWN": rules("pin.failure_limit"),
    "LOGIN-PIN-RESET": patched(never_resets_pin_failures),
    "LOGIN-PIN-PARALLEL": rules("pin.failure_limit"),
    "LOGIN-APP-DISABLED": rules("login.app_version"),
    "DPOP-MISSING": rules("dpop.required"),
    "DPOP-TWO-HEADERS": patched(first_of_many_dpop_headers),
    "DPOP-TYP": rules("dpop.typ"),
    "DPOP-ALG-NONE": DPOP_TRUSTS_HEADER_ALG,
    "DPOP-HS256": DPOP_TRUSTS_HEADER_ALG,
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
    "API-TOKEN-ALG-NONE": TRUSTS_HEADER_ALG,
    "API-TOKEN-HS256": TRUSTS_HEADER_ALG,
    "API-TOKEN-ZERO-SIGNATURE": ACCEPTS_ZERO_SIGNATURE,
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

#: Checks citing another section than their breaking rule's, and why.
SECTION_EXCEPTIONS = {
    # docs/spec §4.4 states "session used once" and tags it [enrollment.session_binding]; the
    # reference server enforces it under `enrollment.code_single_use` (spec §4.3).
    "ENR-SESSION-REUSE": "4.4",
}


@contextmanager
def broken(breaker: Break, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for apply in breaker.patches:
        apply(monkeypatch)
    try:
        with relaxed(*breaker.rules):
            yield
    finally:
        monkeypatch.undo()
