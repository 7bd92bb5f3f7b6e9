"""Shared fixtures: a server per test on SQLite (and PostgreSQL when
MIA_TEST_POSTGRES_URL is set), a platform CA, a relying party, and enrolled simulated phones."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from reference import create_app
from reference.config import AppConfig
from reference.core.clock import FrozenClock, SystemClock
from reference.core.rate_limit import Limit
from reference.core.settings import ServerContext
from simulator import AppBuild, Device, PlatformCA, WsgiTransport
from simulator.platform import GENUINE_SIGNING_CERTIFICATE_SHA256

ISSUER = "http://mia.test"
RP_ID = "bank-backend"
RP_SECRET = "bank-backend-test-secret"
PIN = "27182"

POLICY = f"""
[pin]
length = 5
max_failed_attempts = 5
disallow_sequences = true
disallow_repeats = true
blocklist = ["12345", "54321", "11111", "00000"]

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

POSTGRES_URL = os.environ.get("MIA_TEST_POSTGRES_URL")


def _postgres_database(base_url: str) -> Iterator[str]:
    """A fresh database for this test session, dropped afterwards."""
    name = f"mia_test_{secrets.token_hex(4)}"
    admin = create_engine(
        base_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = base_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("MIA_TEST_POSTGRES_URL is not set")
    yield from _postgres_database(POSTGRES_URL)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path / 'mia.db'}"


@pytest.fixture(scope="session")
def platform_ca(tmp_path_factory: pytest.TempPathFactory) -> PlatformCA:
    return PlatformCA.load_or_create(tmp_path_factory.mktemp("platform-ca"))


@dataclass
class RunningServer:
    app: Flask
    config: AppConfig
    platform_ca: PlatformCA
    transport: WsgiTransport
    clock: FrozenClock | SystemClock

    @property
    def ctx(self) -> ServerContext:
        context: ServerContext = self.app.extensions["mia"]
        return context

    @property
    def issuer(self) -> str:
        return self.config.issuer

    def device(self, app: AppBuild | None = None, **switches: Any) -> Device:
        clock = self.clock
        return Device(
            self.issuer,
            self.platform_ca,
            app,
            transport=self.transport,
            clock=lambda: float(clock.now()),
            **switches,
        )

    def rp_headers(self, secret: str = RP_SECRET) -> dict[str, str]:
        token = base64.b64encode(f"{RP_ID}:{secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def create_enrollment(self, user_id: str = "alice") -> dict[str, Any]:
        response = self.app.test_client().post(
            "/rp/enrollments",
            json={"user_id": user_id, "display_name": user_id.title()},
            headers=self.rp_headers(),
        )
        assert response.status_code == 201, response.json
        body: dict[str, Any] = response.json
        return body

    def enrolled_device(self, user_id: str = "alice", pin: str = PIN, **switches: Any) -> Device:
        device = self.device(**switches)
        device.register_app()
        created = self.create_enrollment(user_id)
        device.enroll(qr=base64.b64decode(created["qr_png"]), pin=pin)
        return device


def start_server(
    tmp_path: Path,
    platform_ca: PlatformCA,
    database_url: str,
    *,
    frozen: bool = False,
    policy: str = POLICY,
    issuer: str = ISSUER,
    rate_limits: dict[str, Limit] | None = None,
) -> RunningServer:
    root = tmp_path / "platform-root.pem"
    root.write_text(platform_ca.root_pem)
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(policy)
    config = AppConfig(
        issuer=issuer,
        database_url=database_url,
        policy_file=policy_file,
        trusted_roots=(root,),
        secret_key="test-session-secret",
        data_dir=tmp_path,
        demo_users={"alice": ("Alice Doe", "alice-password")},
        rate_limits=rate_limits or {},
    )
    clock: FrozenClock | SystemClock = FrozenClock(1_800_000_000) if frozen else SystemClock()
    app = create_app(config, clock=clock)
    return RunningServer(app, config, platform_ca, WsgiTransport(app), clock)


@pytest.fixture
def server(tmp_path: Path, platform_ca: PlatformCA, database_url: str) -> Iterator[RunningServer]:
    running = start_server(tmp_path, platform_ca, database_url)
    yield running
    running.ctx.storage.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def sqlite_server(tmp_path: Path, platform_ca: PlatformCA) -> Iterator[RunningServer]:
    running = start_server(tmp_path, platform_ca, f"sqlite:///{tmp_path / 'mia.db'}")
    yield running
    running.ctx.storage.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def frozen_server(tmp_path: Path, platform_ca: PlatformCA) -> Iterator[RunningServer]:
    """A server whose clock only moves when the test says so (expiry tests)."""
    running = start_server(tmp_path, platform_ca, f"sqlite:///{tmp_path / 'mia.db'}", frozen=True)
    yield running
    running.ctx.storage.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def enrolled(server: RunningServer) -> Callable[..., Device]:
    return server.enrolled_device
