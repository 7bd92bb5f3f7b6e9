"""The simulator CLI against a live reference server (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from reference.server_process import free_port
from simulator import PlatformCA
from simulator.cli import main
from tests.conftest import PIN, POLICY, RP_ID, RP_SECRET

MAX_FAILED_ATTEMPTS = int(tomllib.loads(POLICY)["pin"]["max_failed_attempts"])


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    reference = pytest.importorskip("reference")
    from reference.config import AppConfig

    ca_dir = tmp_path / "platform-ca"
    ca = PlatformCA.load_or_create(ca_dir)
    assert ca.root_pem
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    app = reference.create_app(
        AppConfig(
            issuer=issuer,
            database_url=f"sqlite:///{tmp_path / 'mia.db'}",
            policy_file=policy,
            trusted_roots=(ca_dir / "root.pem",),
            secret_key="cli-tests",
            data_dir=tmp_path / "server",
        )
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer, ca_dir
    finally:
        server.shutdown()
        thread.join(5)


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_cli_walks_every_command(live: tuple[str, Path], tmp_path: Path) -> None:
    issuer, ca_dir = live
    base = ["--issuer", issuer, "--state", str(tmp_path / "phone"), "--platform-ca", str(ca_dir)]

    code, out = _run(*base, "register")
    assert code == 0, out
    assert "Registered. client_id = " in out

    import requests

    created = requests.post(
        f"{issuer}/rp/enrollments",
        auth=(RP_ID, RP_SECRET),
        json={"user_id": "alice", "display_name": "Alice Doe"},
        timeout=10,
    ).json()
    qr_file = tmp_path / "qr.png"
    import base64

    qr_file.write_bytes(base64.b64decode(created["qr_png"]))

    code, out = _run(*base, "enroll", "--qr", "12345", "--pin", "12345")
    assert code == 1 and "Screen: [Not an Example Bank code]" in out

    code, out = _run(*base, "enroll", "--qr", str(qr_file), "--pin", "23456")
    assert code == 1 and "pin_policy_violation" in out and "Choose another PIN" in out

    code, out = _run(*base, "enroll", "--qr", str(qr_file), "--pin", PIN)
    assert code == 0, out
    assert "Enrolled for Alice Doe" in out

    # State survives a "restart": a new process-like invocation reads storage and keystore.
    code, out = _run(*base, "login", "--pin", "97531")
    assert code == 1 and "pin_incorrect" in out and "Wrong PIN" in out
    assert f"{MAX_FAILED_ATTEMPTS - 1} attempts remaining" in out

    code, out = _run(*base, "login", "--pin", PIN)
    assert code == 0 and "Logged in." in out, out
    code, out = _run(*base, "api", "/api/me")
    assert code == 0 and '"sub": "alice"' in out, out
    code, out = _run(*base, "refresh")
    assert code == 0 and "refreshed" in out, out
    code, out = _run(*base, "api", "/api/accounts")
    assert code == 0, out

    code, out = _run(*base, "show")
    assert code == 0 and "Enrolled: yes" in out and "client, dpop" in out
    storage = json.loads((tmp_path / "phone" / "storage.json").read_text())
    assert storage["user_id"] == "alice" and storage["refresh_token"]

    code, out = _run(*base, "logout")
    assert code == 0 and "Logged out." in out
    code, out = _run(*base, "refresh")
    assert code == 1 and "invalid_state" in out


def test_cli_demo_and_error_screens(live: tuple[str, Path], tmp_path: Path) -> None:
    issuer, ca_dir = live
    base = ["--issuer", issuer, "--state", str(tmp_path / "p"), "--platform-ca", str(ca_dir)]
    code, out = _run(*base, "demo", "--rp-id", RP_ID, "--rp-secret", RP_SECRET)
    assert code == 0, out
    assert '"sub": "alice"' in out
    code, out = _run(*base, "--rooted", "register")
    assert code == 1
    assert "Phone cannot be trusted" in out and "device_integrity_failed" in out


def test_cli_no_connection(tmp_path: Path) -> None:
    code, out = _run(
        "--issuer",
        f"http://127.0.0.1:{free_port()}",
        "--state",
        str(tmp_path / "s"),
        "--timeout",
        "2",
        "register",
    )
    assert code == 1 and "No connection" in out


def test_python_dash_m_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0 and "register" in result.stdout
