"""What a stranger can trigger is rate-limited: secret guessing, password guessing, nonces."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference.core.rate_limit import Limit
from simulator import PlatformCA
from tests.conftest import RP_ID, RP_SECRET, RunningServer, start_server


@pytest.fixture
def strict_server(tmp_path: Path, platform_ca: PlatformCA) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path,
        platform_ca,
        f"sqlite:///{tmp_path / 'mia.db'}",
        frozen=True,
        rate_limits={
            "registration_nonce": Limit(burst=3, per_minute=6),
            "relying_party_failure": Limit(burst=20, per_minute=10),
        },
    )
    yield running
    running.ctx.storage.dispose()  # type: ignore[attr-defined]


def _basic(secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{RP_ID}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_guessing_relying_party_secrets_is_slowed_down(strict_server: RunningServer) -> None:
    http = strict_server.app.test_client()
    body = {"user_id": "alice"}
    answers = [
        http.post("/rp/enrollments", json=body, headers=_basic(f"guess-{n}")).status_code
        for n in range(20)
    ]
    assert answers == [401] * 20
    refused = http.post("/rp/enrollments", json=body, headers=_basic(RP_SECRET))
    assert refused.status_code == 429 and refused.json["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
    strict_server.clock.advance(int(refused.headers["Retry-After"]))  # type: ignore[union-attr]
    assert http.post("/rp/enrollments", json=body, headers=_basic(RP_SECRET)).status_code == 201


def test_guessing_a_password_is_slowed_down(strict_server: RunningServer) -> None:
    http = strict_server.app.test_client()

    def attempt(password: str) -> int:
        page = http.get("/demo/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf
        form = {"csrf": csrf.group(1), "username": "alice", "password": password}
        return http.post("/demo/login", data=form).status_code

    assert [attempt(f"wrong-{n}") for n in range(5)] == [200] * 5
    assert attempt("alice-password") == 429
    strict_server.clock.advance(30)  # type: ignore[union-attr]
    assert attempt("alice-password") == 302


def test_nonce_issuance_is_limited_per_address(strict_server: RunningServer) -> None:
    http = strict_server.app.test_client()
    answers = [http.post("/register/nonce").status_code for _ in range(4)]
    assert answers == [201, 201, 201, 429]
    other = http.post("/register/nonce", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 201
