"""End to end: the simulated app against the reference server, in-process (WsgiTransport)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reference.core.clock import FrozenClock
from reference.core.jose import decode_unverified, jwk_thumbprint
from simulator import REMOVE, AppBuild, Device, Keystore, ServerError
from simulator.errors import InvalidQrCode, PinPolicyViolation
from simulator.screens import Screen
from tests.conftest import ISSUER, PIN, RunningServer


def _enrollment_status(server: RunningServer, enrollment_id: str) -> str:
    response = server.transport.request(
        "GET", f"{server.issuer}/rp/enrollments/{enrollment_id}", headers=server.rp_headers()
    )
    assert response.status == 200, response.text
    body: dict[str, Any] = response.json()
    return str(body["status"])


def test_discovery_is_read_once(server: RunningServer) -> None:
    device = server.device()
    metadata = device.metadata
    assert metadata["issuer"] == ISSUER
    assert device.metadata is metadata
    assert device.endpoint("token_endpoint") == f"{ISSUER}/token"
    assert device.pin_policy is not None and device.pin_policy["length"] == 5


def test_full_flow(server: RunningServer) -> None:
    device = server.device()
    client_id = device.register_app()
    assert client_id and device.client_id == client_id
    assert set(device.keystore.aliases()) == {"client", "dpop"}

    created = server.create_enrollment()
    assert _enrollment_status(server, created["enrollment_id"]) == "pending"
    png = base64.b64decode(created["qr_png"])
    authenticator_id = device.enroll(qr=png, pin=PIN)
    assert authenticator_id == device.storage.authenticator_id
    assert device.storage.user_id == "alice"
    assert device.storage.display_name == "Alice"
    assert _enrollment_status(server, created["enrollment_id"]) == "completed"
    assert device.screen is Screen.ENROLLED

    tokens = device.login(pin=PIN)
    assert tokens.token_type == "DPoP" and tokens.expires_in > 0 and tokens.refresh_token
    assert device.screen is Screen.HOME
    access = decode_unverified(tokens.access_token)
    assert access.header["typ"] == "at+jwt"
    assert access.claims["sub"] == "alice"
    assert access.claims["client_id"] == client_id
    assert access.claims["cnf"]["jkt"] == jwk_thumbprint(device.keystore.public_jwk("dpop"))

    me = device.call_api("/api/me")
    assert me.status == 200 and me.json["sub"] == "alice"
    accounts = device.call_api("/api/accounts")
    assert accounts.status == 200 and device.screen is Screen.ACCOUNTS

    rotated = device.refresh()
    assert rotated.refresh_token != tokens.refresh_token
    assert device.storage.refresh_token == rotated.refresh_token
    assert device.call_api("/api/me").json["sub"] == "alice"

    device.logout()
    assert device.tokens is None and device.storage.refresh_token is None
    assert device.screen is Screen.LOGGED_OUT
    # The revoked refresh token no longer works.
    response = device.token_request(
        {"grant_type": "refresh_token", "refresh_token": rotated.refresh_token}
    )
    assert response.status == 400 and response.json()["error"] == "invalid_grant"


def test_enroll_from_uri_and_file(server: RunningServer, tmp_path: Path) -> None:
    device = server.device()
    device.register_app()
    device.enroll(qr=server.create_enrollment()["enrollment_uri"], pin=PIN)
    path = tmp_path / "qr.png"
    path.write_bytes(base64.b64decode(server.create_enrollment(user_id="bob")["qr_png"]))
    other = server.device()
    other.register_app()
    other.enroll(qr=path, pin="97531")
    assert other.storage.user_id == "bob"
    assert other.login("97531").access_token


def test_storage_after_enrollment_holds_no_pin_public_key(
    enrolled: Callable[..., Device],
) -> None:
    device = enrolled()
    data = json.loads(device.storage.to_json())
    assert set(data) == {
        "issuer",
        "client_id",
        "authenticator_id",
        "pin_salt",
        "pin_masked_key",
        "refresh_token",
        "user_id",
        "display_name",
    }
    # The only key material is the camouflaged scalar; the authenticator id is random.
    assert len(base64.urlsafe_b64decode(data["authenticator_id"] + "==")) == 16


@pytest.mark.parametrize(
    ("switches", "app", "code", "screen"),
    [
        ({}, AppBuild.tampered(), "app_integrity_failed", Screen.ERROR_APP_INTEGRITY),
        ({"rooted": True}, None, "device_integrity_failed", Screen.ERROR_DEVICE_INTEGRITY),
        ({"emulator": True}, None, "device_integrity_failed", Screen.ERROR_DEVICE_INTEGRITY),
        ({"os_version": "9"}, None, "os_update_required", Screen.ERROR_OS_UPDATE_REQUIRED),
        ({}, AppBuild(version="1.0.0"), "app_update_required", Screen.ERROR_APP_UPDATE_REQUIRED),
        ({}, AppBuild(version="1.9.0"), "app_update_required", Screen.ERROR_APP_UPDATE_REQUIRED),
        ({}, AppBuild(version="7.7.7"), "app_update_required", Screen.ERROR_APP_UPDATE_REQUIRED),
        ({}, AppBuild(app_id="com.evil.bank"), "app_integrity_failed", Screen.ERROR_APP_INTEGRITY),
    ],
)
def test_registration_switches(
    server: RunningServer,
    switches: dict[str, object],
    app: AppBuild | None,
    code: str,
    screen: Screen,
) -> None:
    device = server.device(app, **switches)
    with pytest.raises(ServerError) as caught:
        device.register_app()
    assert caught.value.code == code
    assert caught.value.status == 403
    assert caught.value.screen is screen
    assert device.screen is screen
    assert device.client_id is None


def test_untrusted_platform_root_is_refused(server: RunningServer) -> None:
    from simulator import PlatformCA

    device = Device(ISSUER, PlatformCA.create(), transport=server.transport)
    with pytest.raises(ServerError) as caught:
        device.register_app()
    assert (caught.value.code, caught.value.status) == ("invalid_attestation", 400)


def test_wrong_pin_counts_down_then_locks(enrolled: Callable[..., Device]) -> None:
    device = enrolled()
    assert device.pin_policy is not None
    limit = int(device.pin_policy["max_failed_attempts"])
    assert limit >= 2
    countdown = list(range(limit - 1, 0, -1))
    remaining = []
    for _ in countdown:
        with pytest.raises(ServerError) as caught:
            device.login("97531")
        assert caught.value.code == "pin_incorrect"
        assert caught.value.screen is Screen.ERROR_PIN_INCORRECT
        remaining.append(caught.value.attempts_remaining)
    assert remaining == countdown
    device.login(PIN)  # success resets the counter
    for expected in countdown:
        with pytest.raises(ServerError) as caught:
            device.login("97531")
        assert caught.value.attempts_remaining == expected
    with pytest.raises(ServerError) as caught:
        device.login("97531")
    assert caught.value.code == "authenticator_locked"
    assert caught.value.attempts_remaining == 0
    assert caught.value.screen is Screen.ERROR_LOCKED_REENROLL
    assert not device.storage.enrolled


def test_attacker_with_storage_copy_cannot_guess_offline_or_authenticate(
    server: RunningServer, enrolled: Callable[..., Device]
) -> None:
    device = enrolled()
    stolen = device.storage.clone()
    attacker = Device(
        ISSUER, server.platform_ca, transport=server.transport, storage=stolen, keystore=Keystore()
    )
    # No keystore keys: the copy cannot even authenticate as the client.
    with pytest.raises(Exception, match="not registered"):
        attacker.login(PIN)
    # Even with the real client key (a fully compromised phone) every guess costs a server
    # attempt: the wrong guess is refused by the server, not by anything local.
    attacker.keystore = device.keystore
    with pytest.raises(ServerError) as caught:
        attacker.login("97531")
    assert caught.value.code == "pin_incorrect"


def test_pin_policy_and_qr_errors(server: RunningServer) -> None:
    device = server.device()
    device.register_app()
    created = server.create_enrollment()
    for bad in ("12345", "23456", "77777", "1234", "12a45"):
        with pytest.raises(PinPolicyViolation):
            device.enroll(qr=created["enrollment_uri"], pin=bad)
    # The code was not spent by the refused PINs.
    assert _enrollment_status(server, created["enrollment_id"]) == "pending"
    with pytest.raises(InvalidQrCode):
        device.enroll(qr="mia://enroll?issuer=http%3A%2F%2Fother.test&code=x", pin=PIN)
    with pytest.raises(InvalidQrCode):
        device.enroll(qr=b"not an image", pin=PIN)
    device.enroll(qr=created["enrollment_uri"], pin=PIN)
    # The code is single use.
    again = server.device()
    again.register_app()
    with pytest.raises(ServerError) as caught:
        again.enroll(qr=created["enrollment_uri"], pin=PIN)
    assert caught.value.code == "invalid_enrollment_code"
    assert caught.value.screen is Screen.ERROR_ENROLLMENT_CODE


def test_refresh_token_reuse_revokes_the_family(enrolled: Callable[..., Device]) -> None:
    device = enrolled()
    first = device.login(PIN)
    second = device.refresh()
    response = device.token_request(
        {"grant_type": "refresh_token", "refresh_token": first.refresh_token}
    )
    assert response.status == 400 and response.json()["error"] == "invalid_grant"
    with pytest.raises(ServerError) as caught:
        device.refresh()  # the family is revoked: the current token is dead too
    assert caught.value.code == "invalid_grant"
    assert second.refresh_token == device.storage.refresh_token


def test_negative_requests_via_low_level_helpers(enrolled: Callable[..., Device]) -> None:
    device = enrolled()
    challenge = device.request_challenge()
    form = {
        "grant_type": "urn:mia:params:oauth:grant-type:authenticator-assertion",
        "assertion": device.authenticator_assertion(challenge, PIN),
    }
    # Missing DPoP.
    response = device.token_request(form, dpop=None)
    assert response.status == 400 and response.json()["error"] == "invalid_dpop_proof"
    # Wrong htm.
    challenge = device.request_challenge()
    form["assertion"] = device.authenticator_assertion(challenge, PIN)
    proof = device.dpop_proof("GET", device.endpoint("token_endpoint"))
    response = device.token_request(form, dpop=proof)
    assert response.json()["error"] == "invalid_dpop_proof"
    # Client assertion for another audience.
    response = device.token_request(
        {**form, "client_assertion": device.client_assertion(aud="https://evil.example")}
    )
    assert response.status == 401 and response.json()["error"] == "invalid_client"
    # Assertion with the wrong typ.
    challenge = device.request_challenge()
    form["assertion"] = device.authenticator_assertion(challenge, PIN, typ="JWT")
    response = device.token_request(form)
    assert response.json()["error"] == "invalid_grant"
    # Assertion without a challenge claim.
    challenge = device.request_challenge()
    form["assertion"] = device.authenticator_assertion(challenge, PIN, claims={"challenge": REMOVE})
    assert device.token_request(form).json()["error"] == "invalid_grant"
    # Post JSON with a replayed client assertion.
    assertion = device.client_assertion()
    assert device.post_json("/login/challenge", {"client_assertion": assertion}).status == 201
    replay = device.post_json("/login/challenge", {"client_assertion": assertion})
    assert replay.status == 401 and replay.json()["error"] == "invalid_client"


def test_resource_server_rejections(enrolled: Callable[..., Device]) -> None:
    device = enrolled()
    tokens = device.login(PIN)
    missing = device.api_request("/api/me", access_token=None)
    assert missing.status == 401
    assert "DPoP" in missing.headers.get("WWW-Authenticate", "")
    no_proof = device.api_request("/api/me", dpop=None)
    assert no_proof.status == 401
    bad_ath = device.api_request(
        "/api/me",
        dpop=device.dpop_proof("GET", "/api/me", access_token=tokens.access_token, ath="x"),
    )
    assert bad_ath.status == 401 and "invalid_dpop_proof" in bad_ath.headers["WWW-Authenticate"]
    wrong_audience = device.api_request("/api/me", access_token=tokens.access_token + "x")
    assert wrong_audience.status == 401
    with pytest.raises(ServerError) as caught:
        device.call_api("/api/nothing-here")
    assert caught.value.status == 404


def test_revoked_access_token_is_inactive(enrolled: Callable[..., Device]) -> None:
    device = enrolled()
    tokens = device.login(PIN)
    device.revoke(tokens.access_token, "access_token")
    # Spec §8.2: a revoked access token's jti is listed; introspection says inactive.
    # (The sample RS of §8 validates the JWT locally and is not required to consult the list.)
    assert device.introspect(tokens.access_token) == {"active": False}


def test_introspection_of_own_token(enrolled: Callable[..., Device]) -> None:
    device = enrolled()
    tokens = device.login(PIN)
    info = device.introspect(tokens.access_token)
    assert info["active"] is True and info["sub"] == "alice"
    assert info["cnf"]["jkt"] == jwk_thumbprint(device.keystore.public_jwk("dpop"))
    assert device.introspect("garbage") == {"active": False}


def test_restart_from_saved_state(
    enrolled: Callable[..., Device], server: RunningServer, tmp_path: Path
) -> None:
    device = enrolled()
    device.login(PIN)
    device.storage.save(tmp_path / "storage.json")
    device.keystore.save(tmp_path / "keystore.json")
    from simulator import AppStorage

    restarted = Device(
        ISSUER,
        server.platform_ca,
        transport=server.transport,
        storage=AppStorage.load(tmp_path / "storage.json"),
        keystore=Keystore.load(tmp_path / "keystore.json"),
    )
    restarted.refresh()
    assert restarted.call_api("/api/me").json["sub"] == "alice"


def test_injected_clocks(frozen_server: RunningServer) -> None:
    server = frozen_server
    clock = server.clock
    assert isinstance(clock, FrozenClock) and clock.now() == 1_800_000_000
    device = server.device()  # the phone's clock is the server's frozen clock
    device.register_app()
    device.enroll(qr=server.create_enrollment()["enrollment_uri"], pin=PIN)
    tokens = device.login(PIN)
    assert decode_unverified(tokens.access_token).claims["iat"] == 1_800_000_000
    clock.advance(tokens.expires_in + 1)
    with pytest.raises(ServerError) as caught:
        device.call_api("/api/me")
    assert (caught.value.code, caught.value.status) == ("invalid_token", 401)
    device.refresh()
    assert device.call_api("/api/me").status == 200
    # A phone whose clock runs 10 minutes fast makes client assertions from the future.
    skewed = Device(
        server.issuer,
        server.platform_ca,
        transport=server.transport,
        clock=lambda: clock.now() + 600,
    )
    with pytest.raises(ServerError) as caught:
        skewed.register_app()
    assert caught.value.code == "invalid_attestation"


def test_failed_reregistration_keeps_the_working_registration(
    enrolled: Callable[..., Device],
) -> None:
    device = enrolled()
    client_jwk = device.keystore.public_jwk("client")
    device.os_version = "9"
    with pytest.raises(ServerError):
        device.register_app()
    assert device.keystore.aliases() == ["client", "dpop"]
    assert device.keystore.public_jwk("client") == client_jwk
    assert device.login(PIN).access_token
