"""Server-side policy takes effect without restart; every single-use value expires on time."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from simulator import AppBuild, ServerError
from tests.conftest import PIN, POLICY, RunningServer


def bump_mtime(path: Path) -> None:
    """Make the edit visible even on file systems with coarse timestamps."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_disabling_a_version_stops_logins_without_restart(server: RunningServer) -> None:
    device = server.enrolled_device()
    device.login(pin=PIN)
    policy_file = server.config.policy_file
    policy_file.write_text(POLICY.replace('"2.0.0" = "enabled"', '"2.0.0" = "disabled"'))
    bump_mtime(policy_file)
    with pytest.raises(ServerError) as refused:
        device.login(pin=PIN)
    assert (refused.value.code, refused.value.status) == ("app_update_required", 403)


def test_login_only_version_logs_in_but_cannot_register(server: RunningServer) -> None:
    device = server.enrolled_device()
    policy_file = server.config.policy_file
    policy_file.write_text(POLICY.replace('"2.0.0" = "enabled"', '"2.0.0" = "login-only"'))
    bump_mtime(policy_file)
    assert device.login(pin=PIN).access_token
    with pytest.raises(ServerError) as refused:
        server.device(app=AppBuild.genuine(version="2.0.0")).register_app()
    assert refused.value.code == "app_update_required"


def test_pin_limit_comes_from_policy(server: RunningServer) -> None:
    server.config.policy_file.write_text(
        POLICY.replace("max_failed_attempts = 5", "max_failed_attempts = 3")
    )
    bump_mtime(server.config.policy_file)
    device = server.enrolled_device()
    remaining = []
    for _ in range(2):
        with pytest.raises(ServerError) as wrong:
            device.login(pin="97531")
        remaining.append(wrong.value.extra["attempts_remaining"])
    with pytest.raises(ServerError) as locked:
        device.login(pin="97531")
    assert remaining == [2, 1]
    assert locked.value.code == "authenticator_locked"


def test_registration_nonce_expires(frozen_server: RunningServer) -> None:
    device = frozen_server.device()
    nonce = device.request_registration_nonce()
    frozen_server.clock.advance(121)  # type: ignore[union-attr]
    response = device.post_json(
        device.endpoint("registration_endpoint"), {"attestation": device.attestation(nonce)}
    )
    assert (response.status, response.json()["error"]) == (400, "invalid_nonce")


def test_login_challenge_expires(frozen_server: RunningServer) -> None:
    device = frozen_server.enrolled_device()
    challenge = device.request_challenge()
    frozen_server.clock.advance(61)  # type: ignore[union-attr]
    response = device.token_request(
        {
            "grant_type": "urn:mia:params:oauth:grant-type:authenticator-assertion",
            "assertion": device.authenticator_assertion(challenge, PIN),
        }
    )
    assert (response.status, response.json()["error"]) == (400, "invalid_grant")


def test_enrollment_code_expires(frozen_server: RunningServer) -> None:
    created = frozen_server.create_enrollment()
    device = frozen_server.device()
    device.register_app()
    frozen_server.clock.advance(301)  # type: ignore[union-attr]
    with pytest.raises(ServerError) as expired:
        device.enroll(qr=base64.b64decode(created["qr_png"]), pin=PIN)
    assert expired.value.code == "invalid_enrollment_code"
    status = frozen_server.app.test_client().get(
        f"/rp/enrollments/{created['enrollment_id']}", headers=frozen_server.rp_headers()
    )
    assert status.json["status"] == "expired"


def test_access_token_expires_at_the_api(frozen_server: RunningServer) -> None:
    device = frozen_server.enrolled_device()
    device.login(pin=PIN)
    assert device.call_api("/api/me").status == 200
    frozen_server.clock.advance(301)  # type: ignore[union-attr]
    expired = device.api_request("/api/me")
    assert expired.status == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


def test_key_rotation_keeps_live_tokens_valid(server: RunningServer) -> None:
    device = server.enrolled_device()
    device.login(pin=PIN)
    old_kid = server.ctx.keyring.signing_key().kid
    new_key = server.ctx.keyring.rotate()
    kids = [key["kid"] for key in server.app.test_client().get("/jwks.json").json["keys"]]
    assert new_key.kid != old_kid and {old_kid, new_key.kid} <= set(kids)
    assert device.call_api("/api/me").status == 200  # signed by the retired key
    device.refresh()
    assert device.call_api("/api/me").status == 200  # signed by the new key
