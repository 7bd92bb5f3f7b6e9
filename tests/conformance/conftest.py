"""A real reference server on a real socket for the conformance suite's own tests.

Two servers: `mia_server` with the normal lifetimes (the whole suite runs against it) and
`short_lived_server` whose nonces, codes, challenges and access tokens live 2 s, for the expiry
checks. Both trust the simulator's PlatformCA created in a temporary directory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from werkzeug.serving import BaseWSGIServer, make_server

from conformance.config import Config, config_from_dict
from conformance.context import Context
from reference import create_app
from reference.config import DEFAULT_POLICY_TEMPLATE, AppConfig
from reference.core.settings import Lifetimes
from simulator.platform import PlatformCA

#: App version enabled at registration, then disabled in the policy (LOGIN-APP-DISABLED fixture).
RETIRED_VERSION = "2.1.0"


@dataclass
class RunningServer:
    url: str
    directory: Path
    policy_file: Path
    server: BaseWSGIServer
    config: dict[str, Any]

    def suite_config(self, **changes: Any) -> Config:
        return config_from_dict({**self.config, **changes}, base_dir=self.directory)

    def context(self, **changes: Any) -> Context:
        return Context(self.suite_config(**changes))


def _placeholder(environ: Any, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [])
    return [b""]


def _start(directory: Path, lifetimes: Lifetimes) -> tuple[RunningServer, threading.Thread]:
    ca = PlatformCA.load_or_create(directory / "platform-ca")
    policy_file = directory / "policy.toml"
    policy_file.write_text(DEFAULT_POLICY_TEMPLATE.read_text())
    server = make_server("127.0.0.1", 0, _placeholder, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app_config = AppConfig(
        issuer=url,
        database_url=f"sqlite:///{directory / 'mia.db'}",
        policy_file=policy_file,
        trusted_roots=(directory / "platform-ca" / "root.pem",),
        secret_key="conformance-self-test",
        data_dir=directory,
        lifetimes=lifetimes,
    )
    server.app = create_app(app_config)
    thread = threading.Thread(target=server.serve_forever, name=f"mia-{url}", daemon=True)
    thread.start()
    config = {
        "target": url,
        "platform_ca": {
            "cert": str(directory / "platform-ca" / "root.pem"),
            "key": str(directory / "platform-ca" / "root-key.pem"),
        },
    }
    assert ca.root_cert is not None
    return RunningServer(url, directory, policy_file, server, config), thread


def _retire_version(running: RunningServer) -> None:
    """Register a client on RETIRED_VERSION, then disable that version in the policy."""
    from conformance.agent import AppIdentity

    ctx = running.context()
    try:
        agent = ctx.new_agent(
            app=AppIdentity(ctx.app.app_id, RETIRED_VERSION, ctx.app.signing_certificate_sha256)
        )
        agent.register()
    finally:
        ctx.close()
    key_file = running.directory / "retired-client-key.pem"
    key_file.write_bytes(
        agent.client_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    text = running.policy_file.read_text()
    assert f'"{RETIRED_VERSION}" = "enabled"' in text
    running.policy_file.write_text(
        text.replace(f'"{RETIRED_VERSION}" = "enabled"', f'"{RETIRED_VERSION}" = "disabled"')
    )
    stat = running.policy_file.stat()
    import os

    os.utime(running.policy_file, (stat.st_atime + 5, stat.st_mtime + 5))
    running.config["fixtures"] = {
        "disabled_registered_client": {"client_id": agent.client_id, "client_key": str(key_file)}
    }


@pytest.fixture(scope="session")
def mia_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running, thread = _start(tmp_path_factory.mktemp("mia-server"), Lifetimes())
    _retire_version(running)
    yield running
    running.server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def short_lived_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    lifetimes = Lifetimes(
        registration_nonce=2, enrollment_code=2, login_challenge=2, access_token=2
    )
    running, thread = _start(tmp_path_factory.mktemp("mia-short"), lifetimes)
    running.config["max_wait_s"] = 5
    yield running
    running.server.shutdown()
    thread.join(timeout=5)
