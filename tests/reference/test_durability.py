"""A killed server loses nothing it committed: SIGKILL right after enrollment and
login, restart on the same SQLite file, and the phone carries on."""

from __future__ import annotations

import base64
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from reference.server_process import free_port, server_process
from simulator import Device, HttpTransport, PlatformCA
from tests.conftest import PIN, POLICY, RP_ID, RP_SECRET


@contextmanager
def reference_on_sqlite(tmp_path: Path, port: int, root: Path) -> Iterator[subprocess.Popen[bytes]]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    settings = {
        "MIA_ISSUER": f"http://127.0.0.1:{port}",
        "MIA_DATA_DIR": str(tmp_path),
        "MIA_POLICY_FILE": str(policy),
        "MIA_TRUSTED_ROOTS": str(root),
    }
    with server_process(port, settings) as process:
        yield process


def test_committed_state_survives_sigkill(tmp_path: Path, platform_ca: PlatformCA) -> None:
    root = tmp_path / "root.pem"
    root.write_text(platform_ca.root_pem)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    phone = Device(issuer, platform_ca, transport=HttpTransport())
    with reference_on_sqlite(tmp_path, port, root) as first:
        phone.register_app()
        auth = base64.b64encode(f"{RP_ID}:{RP_SECRET}".encode()).decode()
        created = requests.post(
            f"{issuer}/rp/enrollments",
            json={"user_id": "alice"},
            headers={"Authorization": f"Basic {auth}"},
            timeout=10,
        ).json()
        phone.enroll(qr=base64.b64decode(created["qr_png"]), pin=PIN)
        tokens = phone.login(pin=PIN)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    with reference_on_sqlite(tmp_path, port, root):
        # The access token was signed by a key the restarted server still publishes ...
        assert phone.call_api("/api/me").status == 200
        # ... the refresh token and the enrollment are still there.
        phone.refresh()
        assert phone.login(pin=PIN).access_token != tokens.access_token
