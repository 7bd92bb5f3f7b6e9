"""Device builders and error mapping, without a server (a recording fake transport)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from reference.core.jose import (
    b64u_encode,
    decode_unverified,
    public_jwk,
    public_key_from_jwk,
    verify_es256_jws,
)
from simulator import REMOVE, Device, PlatformCA, ServerError, pin_camouflage
from simulator.device import DEFAULT, error_from_response
from simulator.errors import DeviceStateError, PinPolicyViolation
from simulator.screens import Screen
from simulator.transport import HttpResponse
from tests.conftest import ISSUER, PIN

NOW = 1_764_871_200


class FakeTransport:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answers: list[HttpResponse] = []

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        json: Any = None,
    ) -> HttpResponse:
        self.calls.append(
            {
                "method": method,
                "url": url,
                "headers": dict(headers or {}),
                "data": data,
                "json": json,
            }
        )
        if self.answers:
            return self.answers.pop(0)
        return HttpResponse(200, {"Content-Type": "application/json"}, b"{}")


def _answer(status: int, body: Any, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(
        status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()
    )


@pytest.fixture(scope="module")
def ca() -> PlatformCA:
    return PlatformCA.create()


@pytest.fixture
def device(ca: PlatformCA) -> Device:
    transport = FakeTransport()
    device = Device(ISSUER, ca, transport=transport, clock=lambda: NOW + 0.25)
    device._metadata = {"issuer": ISSUER, "token_endpoint": f"{ISSUER}/token"}
    device.storage.client_id = "client-123"
    device.keystore.generate("client")
    device.keystore.generate("dpop")
    return device


def _enroll_offline(device: Device) -> ec.EllipticCurvePrivateKey:
    pin_key = ec.generate_private_key(ec.SECP256R1())
    salt, masked = pin_camouflage.protect(pin_camouflage.private_scalar(pin_key), PIN)
    device.storage.authenticator_id = "auth-1"
    device.storage.pin_salt = b64u_encode(salt)
    device.storage.pin_masked_key = b64u_encode(masked)
    return pin_key


def test_client_assertion_defaults(device: Device) -> None:
    token = device.client_assertion()
    decoded = verify_es256_jws(token, public_key_from_jwk(device.keystore.public_jwk("client")))
    assert decoded.header == {"alg": "ES256", "typ": "client-authentication+jwt"}
    claims = decoded.claims
    assert claims["iss"] == claims["sub"] == "client-123"
    assert claims["aud"] == ISSUER
    assert (claims["iat"], claims["exp"]) == (NOW, NOW + 60)
    assert 0 < len(claims["jti"]) <= 64
    assert device.client_assertion() != token  # fresh jti


def test_overrides_change_exactly_one_member(device: Device) -> None:
    base = decode_unverified(device.client_assertion())
    changed = decode_unverified(device.client_assertion(aud="https://evil.example"))
    assert changed.header == base.header
    assert {k: v for k, v in changed.claims.items() if k != "jti"} == {
        **{k: v for k, v in base.claims.items() if k != "jti"},
        "aud": "https://evil.example",
    }
    typ = decode_unverified(device.client_assertion(typ="JWT"))
    assert typ.header == {"alg": "ES256", "typ": "JWT"}
    removed = decode_unverified(device.client_assertion(exp=REMOVE, typ=REMOVE))
    assert "exp" not in removed.claims and "typ" not in removed.header
    explicit = decode_unverified(device.client_assertion(header={"kid": "k"}, claims={"x": 1}))
    assert explicit.header["kid"] == "k" and explicit.claims["x"] == 1


def test_signature_replacement_and_other_key(device: Device) -> None:
    zero = decode_unverified(device.client_assertion(signature=b"\x00" * 64))
    assert zero.signature == b"\x00" * 64
    other = ec.generate_private_key(ec.SECP256R1())
    token = device.client_assertion(sign_with=other)
    verify_es256_jws(token, other.public_key())


def test_dpop_proof(device: Device) -> None:
    proof = device.dpop_proof("post", f"{ISSUER}/token?x=1#f")
    decoded = verify_es256_jws(proof, public_key_from_jwk(device.keystore.public_jwk("dpop")))
    assert decoded.header == {
        "typ": "dpop+jwt",
        "alg": "ES256",
        "jwk": device.keystore.public_jwk("dpop"),
    }
    assert decoded.claims["htm"] == "POST"
    assert decoded.claims["htu"] == f"{ISSUER}/token"
    assert decoded.claims["iat"] == NOW
    assert "ath" not in decoded.claims
    with_ath = decode_unverified(device.dpop_proof("GET", "/api/me", access_token="at.x.y"))
    assert with_ath.claims["htu"] == f"{ISSUER}/api/me"
    assert with_ath.claims["ath"] == b64u_encode(hashlib.sha256(b"at.x.y").digest())
    assert decode_unverified(device.dpop_proof("GET", "/a", htm="POST")).claims["htm"] == "POST"


def test_authenticator_assertion_right_and_wrong_pin(device: Device) -> None:
    pin_key = _enroll_offline(device)
    token = device.authenticator_assertion("challenge-1", PIN)
    decoded = verify_es256_jws(token, pin_key.public_key())
    assert decoded.header == {"alg": "ES256", "typ": "authenticator-assertion+jwt", "kid": "auth-1"}
    assert decoded.claims == {
        "iss": "client-123",
        "aud": ISSUER,
        "challenge": "challenge-1",
        "iat": NOW,
        "amr": ["pin"],
    }
    wrong = device.authenticator_assertion("challenge-1", "97531")
    with pytest.raises(ValueError):
        verify_es256_jws(wrong, pin_key.public_key())
    assert public_jwk(pin_key.public_key())["x"] not in device.storage.to_json()


def test_attestation_builder(device: Device) -> None:
    device.rooted = True
    claims = decode_unverified(device.attestation("n-1", claims={"nonce": "n-2"})).claims
    assert claims["nonce"] == "n-2"
    assert claims["device_integrity"]["verdict"] == ["MEETS_BASIC_INTEGRITY"]
    assert claims["attested_key"] == device.keystore.public_jwk("client")


def test_token_request_adds_client_auth_and_dpop(device: Device) -> None:
    transport = device.transport
    assert isinstance(transport, FakeTransport)
    device.token_request({"grant_type": "refresh_token", "refresh_token": "r"})
    call = transport.calls[-1]
    assert call["url"] == f"{ISSUER}/token" and call["method"] == "POST"
    assert call["data"]["client_assertion_type"].endswith("jwt-bearer")
    assert decode_unverified(call["headers"]["DPoP"]).claims["htu"] == f"{ISSUER}/token"
    device.token_request({"grant_type": "x", "client_assertion": REMOVE}, dpop=None)
    call = transport.calls[-1]
    assert "client_assertion" not in call["data"] and "DPoP" not in call["headers"]
    assert "client_assertion_type" in call["data"]
    device.token_request({"grant_type": "x"}, dpop="given", client_auth=False)
    call = transport.calls[-1]
    assert call["headers"]["DPoP"] == "given" and set(call["data"]) == {"grant_type"}
    assert parse_qs("a=b") == {"a": ["b"]}


def test_post_json_adds_client_auth_except_for_registration(device: Device) -> None:
    transport = device.transport
    assert isinstance(transport, FakeTransport)
    device.post_json("/login/challenge", {})
    assert "client_assertion" in transport.calls[-1]["json"]
    device.post_json("/register", {"attestation": "a"})
    assert transport.calls[-1]["json"] == {"attestation": "a"}
    device.post_json("/enroll/begin", {"code": "c", "client_assertion_type": REMOVE})
    assert "client_assertion_type" not in transport.calls[-1]["json"]


def test_api_request_headers(device: Device) -> None:
    transport = device.transport
    assert isinstance(transport, FakeTransport)
    device.api_request("/api/me", access_token="tok")
    call = transport.calls[-1]
    assert call["headers"]["Authorization"] == "DPoP tok"
    assert "ath" in decode_unverified(call["headers"]["DPoP"]).claims
    device.api_request("/api/me", access_token="tok", dpop=None, authorization="Bearer tok")
    assert transport.calls[-1]["headers"] == {"Authorization": "Bearer tok"}
    assert DEFAULT is not REMOVE


def test_errors_raise_server_error_with_screen(device: Device) -> None:
    transport = device.transport
    assert isinstance(transport, FakeTransport)
    transport.answers.append(
        _answer(
            400, {"error": "pin_incorrect", "error_description": "wrong", "attempts_remaining": 3}
        )
    )
    with pytest.raises(ServerError) as caught:
        device.request_challenge()
    error = caught.value
    assert (error.code, error.status, error.description) == ("pin_incorrect", 400, "wrong")
    assert error.extra == {"attempts_remaining": 3} and error.attempts_remaining == 3
    assert error.screen is Screen.ERROR_PIN_INCORRECT and device.screen is error.screen


def test_error_from_www_authenticate_and_non_json() -> None:
    rs = HttpResponse(401, {"WWW-Authenticate": 'DPoP error="invalid_token", algs="ES256"'}, b"")
    assert error_from_response(rs).code == "invalid_token"
    assert error_from_response(HttpResponse(502, {}, b"<html>")).code == "server_error"
    assert error_from_response(HttpResponse(404, {}, b"")).code == "not_found"
    assert error_from_response(HttpResponse(405, {}, b"")).code == "invalid_request"


def test_state_errors(ca: PlatformCA) -> None:
    device = Device(ISSUER, ca, transport=FakeTransport())
    with pytest.raises(DeviceStateError):
        device.client_assertion()
    with pytest.raises(DeviceStateError):
        device.login(PIN)


def test_enroll_checks_pin_before_spending_the_code(device: Device) -> None:
    transport = device.transport
    assert isinstance(transport, FakeTransport)
    device.pin_policy = {
        "length": 5,
        "disallow_sequences": True,
        "disallow_repeats": True,
        "blocklist": [],
    }
    before = len(transport.calls)
    with pytest.raises(PinPolicyViolation) as caught:
        device.enroll(qr=f"mia://enroll?issuer={ISSUER}&code=abc", pin="34567")
    assert caught.value.screen is Screen.ERROR_PIN_POLICY
    assert len(transport.calls) == before
