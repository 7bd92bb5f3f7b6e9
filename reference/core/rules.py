"""Named normative rules, so each one can be traced from spec section to code to conformance check.

Every server-side MUST that the conformance suite proves is enforced behind `enforced(rule_id)`.
The project's own tests relax one rule at a time (`relaxed(...)`) to build a deliberately broken
server and show that the citing conformance check fails. Nothing in the product relaxes a rule:
there is no configuration switch for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

RULES: dict[str, str] = {
    # rule id: spec section
    "attestation.signature": "2.4",
    "attestation.chain": "2.4",
    "attestation.typ": "2.4",
    "attestation.freshness": "2.4",
    "registration.nonce_single_use": "2.3",
    "registration.nonce_expiry": "2.3",
    "registration.app_integrity": "2.5",
    "registration.app_version": "2.5",
    "registration.os_version": "2.5",
    "registration.device_integrity": "2.5",
    "client_auth.signature": "3.2",
    "client_auth.typ": "3.2",
    "client_auth.audience": "3.2",
    "client_auth.expiry": "3.2",
    "client_auth.jti_single_use": "3.2",
    "rp_auth.secret": "3.3",
    "enrollment.code_single_use": "4.3",
    "enrollment.code_expiry": "4.3",
    "enrollment.session_binding": "4.4",
    "login.challenge_single_use": "5.2",
    "login.challenge_expiry": "5.2",
    "login.challenge_binding": "5.2",
    "login.assertion_typ": "5.3",
    "login.assertion_audience": "5.3",
    "login.assertion_signature": "5.3",
    "login.app_version": "5.2",
    "pin.failure_limit": "5.4",
    "jws.alg_allow_list": "1.3",
    "dpop.required": "6.2",
    "dpop.typ": "6.2",
    "dpop.alg": "6.2",
    "dpop.signature": "6.2",
    "dpop.private_key": "6.2",
    "dpop.htm": "6.2",
    "dpop.htu": "6.2",
    "dpop.iat": "6.2",
    "dpop.jti_replay": "6.2",
    "dpop.ath": "6.3",
    "dpop.binding": "6.3",
    "refresh.single_use": "7.2",
    "refresh.reuse_revokes_family": "7.3",
    "refresh.sender_constraint": "7.2",
    "refresh.client_binding": "7.2",
    "introspection.revoked_inactive": "8.1",
    "revocation.refresh_family": "8.2",
    "api.signature": "9.2",
    "api.typ": "9.2",
    "api.audience": "9.2",
    "api.expiry": "9.2",
    "api.issuer": "9.2",
}

_relaxed: set[str] = set()


def enforced(rule_id: str) -> bool:
    """True unless a test has relaxed this rule to play a broken server."""
    return rule_id not in _relaxed


@contextmanager
def relaxed(*rule_ids: str) -> Iterator[None]:
    """Switch rules off for the duration of a test (a deliberately broken server)."""
    unknown = set(rule_ids) - RULES.keys()
    if unknown:
        raise KeyError(f"unknown rules: {sorted(unknown)}")
    _relaxed.update(rule_ids)
    try:
        yield
    finally:
        _relaxed.difference_update(rule_ids)
