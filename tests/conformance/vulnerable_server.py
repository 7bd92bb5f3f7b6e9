"""Deliberately vulnerable variants of the reference server, as monkeypatches.

Each function takes a `pytest.MonkeyPatch` and swaps one piece of the reference server for a
version with exactly one bug, for the breakers in broken_servers.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import reference.core.jose as jose
from reference.core import enrollment as core_enrollment
from reference.core import registration as core_registration
from reference.core import token_endpoint
from reference.core.clock import random_token, secret_hash
from reference.core.errors import InvalidClient, InvalidNonce, InvalidRequest
from reference.qr_codes import qr_png_base64
from reference.sample_api import blueprint as api_blueprint
from reference.sample_api.resource_server import ResourceServer
from reference.storage import SqlStorage
from reference.web import discovery as web_discovery
from reference.web import enrollment as web_enrollment
from reference.web import login as web_login
from reference.web import token_management as web_token_management

# --- patch helpers -------------------------------------------------------------------------------


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


def alter_result(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, change: Callable[[Any], Any]
) -> None:
    """Replace `owner.name` with a wrapper that passes its result through `change`."""
    original = getattr(owner, name)

    def altered(*args: Any, **kwargs: Any) -> Any:
        return change(original(*args, **kwargs))

    monkeypatch.setattr(owner, name, altered)


def without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A change for `alter_result`: the JSON object without member `key`."""
    return lambda data: {k: v for k, v in data.items() if k != key}


# --- JOSE ----------------------------------------------------------------------------------------

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


def vulnerable_jose(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_everywhere(monkeypatch, "es256_verify", vulnerable_es256_verify)


# --- discovery and registration ------------------------------------------------------------------


def metadata_offers_hs256(monkeypatch: pytest.MonkeyPatch) -> None:
    alter_result(
        monkeypatch,
        web_discovery,
        "authorization_server_metadata",
        lambda data: {**data, "dpop_signing_alg_values_supported": ["ES256", "HS256"]},
    )


def jwks_leaks_private_key(monkeypatch: pytest.MonkeyPatch) -> None:
    alter_result(
        monkeypatch,
        web_discovery,
        "jwks",
        lambda data: {"keys": [{**k, "d": jose.b64u_encode(bytes(32))} for k in data["keys"]]},
    )


def registration_answer_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    alter_result(
        monkeypatch,
        core_registration.Registration,
        "as_json",
        without("token_endpoint_auth_method"),
    )


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


# --- enrollment ----------------------------------------------------------------------------------


def qr_shows_another_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        web_enrollment, "qr_png_base64", lambda uri: qr_png_base64(uri.replace("code=", "code=x"))
    )


def begin_sends_another_pin_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    def another_policy(begun: core_enrollment.EnrollmentBegun) -> core_enrollment.EnrollmentBegun:
        policy = {**begun.pin_policy, "length": begun.pin_policy["length"] + 1}
        return replace(begun, pin_policy=policy)

    alter_result(monkeypatch, web_enrollment, "begin_enrollment", another_policy)


def status_never_completes(monkeypatch: pytest.MonkeyPatch) -> None:
    alter_result(
        monkeypatch,
        web_enrollment,
        "enrollment_status",
        lambda status: {**status, "status": "pending", "completed_at": None},
    )


def begins_any_code(monkeypatch: pytest.MonkeyPatch) -> None:
    original = web_enrollment.begin_enrollment

    def begin(ctx: Any, client: Any, code: Any) -> Any:
        try:
            return original(ctx, client, code)
        except Exception:
            pin_policy = ctx.policy.current().pin.as_json()
            return core_enrollment.EnrollmentBegun(random_token(32), "Anyone", pin_policy, 300)

    monkeypatch.setattr(web_enrollment, "begin_enrollment", begin)


# --- login, DPoP and tokens ----------------------------------------------------------------------


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
    alter_result(
        monkeypatch,
        token_endpoint,
        "_token_response",
        lambda response: {**response, "token_type": "Bearer"},
    )


def introspection_without_cnf(monkeypatch: pytest.MonkeyPatch) -> None:
    alter_result(monkeypatch, web_token_management, "introspect", without("cnf"))


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


# --- the sample API and robustness ---------------------------------------------------------------


def api_answers_for_someone_else(monkeypatch: pytest.MonkeyPatch) -> None:
    alter_result(
        monkeypatch,
        ResourceServer,
        "authenticate",
        lambda caller: replace(caller, sub="someone-else"),
    )


def api_without_challenge(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_challenge(response: Any) -> Any:
        del response.headers["WWW-Authenticate"]
        return response

    alter_result(monkeypatch, api_blueprint, "_unauthorized", no_challenge)


def crashes_on_non_object_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from flask import request

    def json_body() -> Any:
        return request.get_json(force=True, silent=True) or {}  # the bug: lists, strings pass

    patch_everywhere(monkeypatch, "json_body", json_body)
