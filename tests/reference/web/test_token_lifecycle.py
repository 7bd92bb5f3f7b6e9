"""Refresh scope narrowing, and what a lockout does to live sessions."""

from __future__ import annotations

import pytest

from simulator import ServerError
from tests.conftest import PIN, RunningServer


def test_refresh_can_narrow_scope_and_a_refused_widening_spends_nothing(
    server: RunningServer,
) -> None:
    device = server.enrolled_device()
    device.login(pin=PIN, scope="openid accounts")
    token = device.storage.refresh_token
    widened = device.token_request(
        {"grant_type": "refresh_token", "refresh_token": token, "scope": "openid profile"}
    )
    assert (widened.status, widened.json()["error"]) == (400, "invalid_scope")
    narrowed = device.token_request(
        {"grant_type": "refresh_token", "refresh_token": token, "scope": "accounts"}
    )
    assert narrowed.status == 200, narrowed.text
    assert narrowed.json()["scope"] == "accounts"


def test_lockout_ends_the_authenticators_sessions(server: RunningServer) -> None:
    device = server.enrolled_device()
    device.login(pin=PIN)
    live_refresh_token = device.storage.refresh_token
    for _ in range(5):
        with pytest.raises(ServerError):
            device.login(pin="97531")
    replay = device.token_request(
        {"grant_type": "refresh_token", "refresh_token": live_refresh_token}
    )
    assert (replay.status, replay.json()["error"]) == (400, "invalid_grant")
