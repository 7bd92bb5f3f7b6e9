"""A killed server loses nothing it committed: SIGKILL right after enrollment and
login, restart on the same SQLite file, and the phone carries on."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from simulator import Device, HttpTransport, PlatformCA
from tests.conftest import PIN, POLICY, RP_ID, RP_SECRET
from tests.reference.test_scale_out import _free_port


@contextmanager
def server_process(tmp_path: Path, port: int, root: Path) -> Iterator[subprocess.Popen[bytes]]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    env = {
        **os.environ,
        "MIA_ISSUER": f"http://127.0.0.1:{port}",
        "MIA_DATA_DIR": str(tmp_path),
        "MIA_POLICY_FILE": str(policy),
        "MIA_TRUSTED_ROOTS": str(root),
    }
    env.pop("MIA_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "reference", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
        assert time.monotonic() < deadline and process.poll() is None, "server did not start"
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def test_committed_state_survives_sigkill(tmp_path: Path, platform_ca: PlatformCA) -> None:
    root = tmp_path / "root.pem"
    root.write_text(platform_ca.root_pem)
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    phone = Device(issuer, platform_ca, transport=HttpTransport())
    with server_process(tmp_path, port, root) as first:
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
    with server_process(tmp_path, port, root):
        # The access token was signed by a key the restarted server still publishes ...
        assert phone.call_api("/api/me").status == 200
        # ... the refresh token and the enrollment are still there.
        phone.refresh()
        assert phone.login(pin=PIN).access_token != tokens.access_token
