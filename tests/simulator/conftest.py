"""Fixtures for the simulator's end-to-end tests against the reference server (in-process)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simulator import AppBuild, Device, PlatformCA, WsgiTransport
from simulator.platform import GENUINE_SIGNING_CERTIFICATE_SHA256

ISSUER = "http://mia.test"
RP_ID = "demo-bank-backend"
RP_SECRET = "simulator-test-rp-secret"

POLICY = f"""
[pin]
length = 5
max_failed_attempts = 3
disallow_sequences = true
disallow_repeats = true
blocklist = ["12345", "54321", "11111", "00000", "13579", "24680"]

[apps."com.example.bank"]
signing_certificate_sha256 = "{GENUINE_SIGNING_CERTIFICATE_SHA256}"
require_device_integrity = true
versions = {{ "2.0.0" = "enabled", "1.9.0" = "login-only", "1.0.0" = "disabled" }}

[os]
android = "12"
ios = "16.0"

[relying_parties."{RP_ID}"]
secret_sha256 = "{hashlib.sha256(RP_SECRET.encode()).hexdigest()}"
"""


@dataclass
class Server:
    app: Any
    issuer: str
    platform_ca: PlatformCA
    transport: WsgiTransport
    policy_file: Path

    def device(self, app: AppBuild | None = None, **switches: Any) -> Device:
        return Device(self.issuer, self.platform_ca, app, transport=self.transport, **switches)

    def rp_headers(self) -> dict[str, str]:
        token = base64.b64encode(f"{RP_ID}:{RP_SECRET}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def create_enrollment(
        self, user_id: str = "alice", display_name: str = "Alice Doe"
    ) -> dict[str, Any]:
        response = self.transport.request(
            "POST",
            f"{self.issuer}/rp/enrollments",
            headers=self.rp_headers(),
            json={"user_id": user_id, "display_name": display_name},
        )
        assert response.status == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def enrollment_status(self, enrollment_id: str) -> dict[str, Any]:
        response = self.transport.request(
            "GET", f"{self.issuer}/rp/enrollments/{enrollment_id}", headers=self.rp_headers()
        )
        assert response.status == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="session")
def platform_ca(tmp_path_factory: pytest.TempPathFactory) -> PlatformCA:
    return PlatformCA.load_or_create(tmp_path_factory.mktemp("platform-ca"))


@pytest.fixture
def server_factory(tmp_path: Path, platform_ca: PlatformCA) -> Callable[..., Server]:
    """Build a reference server on a temp SQLite DB trusting the test platform root."""
    reference = pytest.importorskip("reference")
    from reference.config import AppConfig

    def make(clock: Any = None) -> Server:
        (tmp_path / "platform-ca").mkdir(exist_ok=True)
        root = tmp_path / "platform-ca" / "root.pem"
        root.write_text(platform_ca.root_pem)
        policy = tmp_path / "policy.toml"
        policy.write_text(POLICY)
        config = AppConfig(
            issuer=ISSUER,
            database_url=f"sqlite:///{tmp_path / 'mia.db'}",
            policy_file=policy,
            trusted_roots=(root,),
            secret_key="simulator-tests",
            data_dir=tmp_path,
        )
        app = reference.create_app(config, clock=clock)
        return Server(app, ISSUER, platform_ca, WsgiTransport(app), policy)

    return make


@pytest.fixture
def server(server_factory: Callable[..., Server]) -> Iterator[Server]:
    yield server_factory()


@pytest.fixture
def enrolled(server: Server) -> Callable[..., Device]:
    """A registered device enrolled for `user_id` with `pin`."""

    def make(pin: str = "24681", user_id: str = "alice", **switches: Any) -> Device:
        device = server.device(**switches)
        device.register_app()
        created = server.create_enrollment(user_id=user_id)
        device.enroll(qr=base64.b64decode(created["qr_png"]), pin=pin)
        return device

    return make
