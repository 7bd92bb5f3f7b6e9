"""Shared constants and helpers of the simulator tests (a unique module name, unlike conftest)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
