"""Fixtures for the simulator's end-to-end tests against the reference server (in-process)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_support import ISSUER, POLICY, Server

from simulator import Device, PlatformCA, WsgiTransport


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
