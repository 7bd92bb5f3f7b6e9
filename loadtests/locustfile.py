"""Locust load profile for the PIN login slice (spec chapters 2-9).

Each `DeviceUser` is one phone running the bank app. On start it registers the app (platform
attestation, spec 02), has the relying-party backend create an enrollment and enrolls with a PIN
(spec 04); then it loops over PIN login (challenge + DPoP-bound token, spec 05/06), refresh
(rotation) and calls of the sample API. Every HTTP request goes through Locust's `self.client`
(see `LocustTransport`), so Locust records it, named by endpoint path.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000

The server under test must trust the platform CA the users attest with: the CA lives in
`MIA_LOAD_CA_DIR` (created if missing; default `reports/load/platform-ca`) and its `root.pem`
belongs in the server's `MIA_TRUSTED_ROOTS`. Other settings: `MIA_LOAD_RP_ID`,
`MIA_LOAD_RP_SECRET` (relying-party credentials, default the demo bank backend), `MIA_LOAD_PIN`,
`MIA_LOAD_WAIT_MIN` / `MIA_LOAD_WAIT_MAX` (think time in seconds between tasks).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task
from locust.clients import HttpSession

from simulator import AppBuild, Device, HttpResponse, PlatformCA
from simulator.errors import TransportError

DEFAULT_CA_DIR = "reports/load/platform-ca"
DEFAULT_RP_ID = "demo-bank-backend"
DEFAULT_RP_SECRET = "demo-bank-backend-secret"  # the documented demo credential
#: Satisfies the default PIN policy (spec 04 §4.1): five digits, no sequence, repeat or blocklist.
DEFAULT_PIN = "24681"

_ca_lock = threading.Lock()
_ca: PlatformCA | None = None


def platform_ca(directory: str | None = None) -> PlatformCA:
    """The simulated platform attestation CA, loaded (or created) once per Locust process."""
    global _ca
    with _ca_lock:
        if _ca is None:
            chosen = directory or os.environ.get("MIA_LOAD_CA_DIR", DEFAULT_CA_DIR)
            _ca = PlatformCA.load_or_create(Path(chosen))
        return _ca


def request_name(url: str) -> str:
    """Locust statistics name: the endpoint path (enrollment status ids collapsed)."""
    path = urlsplit(url).path or "/"
    if path.startswith("/rp/enrollments/"):
        return "/rp/enrollments/[id]"
    return path


class LocustTransport:
    """The simulator's `Transport` protocol on top of Locust's `HttpSession`.

    Every request is recorded by Locust under its endpoint path. Non-2xx answers count as
    failures in Locust's statistics and are still returned to the simulator, which raises
    `ServerError` as usual.
    """

    def __init__(self, client: HttpSession) -> None:
        self.client = client

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | bytes | str | None = None,
        json: Any = None,
    ) -> HttpResponse:
        try:
            response = self.client.request(
                method,
                url,
                name=request_name(url),
                headers=dict(headers or {}),
                data=data,
                json=json,
                allow_redirects=False,
                timeout=30,
            )
        except Exception as exc:  # locust records it; the simulator sees a transport error
            raise TransportError(f"{method} {url} failed: {exc}") from exc
        if response.status_code == 0:  # locust's marker for a connection-level failure
            raise TransportError(f"{method} {url} failed: {response.error}")
        return HttpResponse(response.status_code, dict(response.headers), response.content or b"")


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


class DeviceUser(HttpUser):
    """One enrolled phone: logs in with its PIN, refreshes, calls the API."""

    wait_time = between(_env_float("MIA_LOAD_WAIT_MIN", 0.05), _env_float("MIA_LOAD_WAIT_MAX", 0.2))

    device: Device
    pin: str

    def on_start(self) -> None:
        self.pin = os.environ.get("MIA_LOAD_PIN", DEFAULT_PIN)
        issuer = (self.host or "").rstrip("/")
        options = self.environment.parsed_options
        self.device = Device(
            issuer=issuer,
            platform_ca=platform_ca(getattr(options, "mia_ca_dir", None)),
            app=AppBuild.genuine(),
            os_name="android",
            os_version="14",
            transport=LocustTransport(self.client),
        )
        self.device.register_app()
        enrollment = self._create_enrollment()
        # The enrollment URI is exactly what the QR code encodes; decoding the PNG here would
        # only measure zxing on the load generator.
        self.device.enroll(qr=enrollment["enrollment_uri"], pin=self.pin)
        self.device.login(pin=self.pin)

    def _create_enrollment(self) -> dict[str, Any]:
        """The relying-party backend asks for an enrollment QR code (spec 04 §4.2)."""
        user_id = f"load-{id(self):x}-{os.getpid()}"
        rp_id = os.environ.get("MIA_LOAD_RP_ID", DEFAULT_RP_ID)
        rp_secret = os.environ.get("MIA_LOAD_RP_SECRET", DEFAULT_RP_SECRET)
        with self.client.post(
            "/rp/enrollments",
            name="/rp/enrollments",
            json={"user_id": user_id, "display_name": f"Load User {user_id}"},
            auth=(rp_id, rp_secret),
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"enrollment creation answered {response.status_code}")
                raise TransportError(f"POST /rp/enrollments answered {response.status_code}")
            body: dict[str, Any] = response.json()
            response.success()
        return body

    @task(3)
    def login_with_pin(self) -> None:
        self.device.login(pin=self.pin)

    @task(2)
    def refresh(self) -> None:
        if self.device.storage.refresh_token is None:
            self.device.login(pin=self.pin)
        self.device.refresh()

    @task(3)
    def call_api(self) -> None:
        if self.device.tokens is None or self.device.tokens.expired(self.device.clock() + 5):
            self.device.login(pin=self.pin)
        self.device.call_api("/api/me")
        self.device.call_api("/api/accounts")


def _describe_environment(parser: Any) -> None:
    parser.add_argument(
        "--mia-ca-dir",
        env_var="MIA_LOAD_CA_DIR",
        default=DEFAULT_CA_DIR,
        help="directory of the simulated platform CA (the server must trust its root.pem)",
    )


events.init_command_line_parser.add_listener(_describe_environment)  # type: ignore[no-untyped-call]
