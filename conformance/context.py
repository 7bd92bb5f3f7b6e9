"""What every check gets: configuration, discovery metadata, device factories and an RP client."""

from __future__ import annotations

import base64
import itertools
import secrets
import time
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter

from conformance.agent import Agent, AppIdentity, Attester
from conformance.config import Config
from conformance.expectations import body_of, expect_status
from conformance.relying_party import RelyingParty, enrollment_code
from conformance.results import CheckFailed, CheckSkipped
from simulator import pin_policy as pin_rules
from simulator.platform import GENUINE_SIGNING_CERTIFICATE_SHA256, PlatformCA

if TYPE_CHECKING:
    from simulator import Device

DISCOVERY_PATH = "/.well-known/oauth-authorization-server"


class Context:
    """Shared state of one conformance run against one target."""

    def __init__(self, config: Config, *, http: requests.Session | None = None) -> None:
        self.config = config
        self.issuer = config.issuer
        self.http = http or requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=128)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        self._shared_agent: Agent | None = None

    def close(self) -> None:
        self.http.close()

    # -- discovery ----------------------------------------------------------------------------

    def get(self, path_or_url: str, **kwargs: Any) -> requests.Response:
        url = path_or_url if "://" in path_or_url else self.issuer + path_or_url
        return self.http.get(url, timeout=self.config.timeout_s, **kwargs)

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """Authorization server metadata (RFC 8414); checks fail if it cannot be fetched."""
        resp = self.get(DISCOVERY_PATH)
        return expect_status(resp, 200, f"GET {DISCOVERY_PATH}")

    def endpoint(self, member: str, default_path: str) -> str:
        value = self.metadata.get(member)
        return value if isinstance(value, str) else self.issuer + default_path

    @cached_property
    def jwks(self) -> dict[str, Any]:
        resp = self.get(self.endpoint("jwks_uri", "/jwks.json"))
        return body_of(resp)

    @property
    def resources(self) -> list[str]:
        value = self.metadata.get("mia_resources")
        if isinstance(value, list) and all(isinstance(v, str) for v in value) and value:
            return list(value)
        return [self.issuer + "/api"]

    # -- PIN policy ---------------------------------------------------------------------------

    @cached_property
    def pin_policy(self) -> dict[str, Any]:
        policy = self.metadata.get("mia_pin_policy")
        return dict(policy) if isinstance(policy, Mapping) else dict(pin_rules.DEFAULT_POLICY)

    def _acceptable_pins(self) -> list[str]:
        length = int(self.pin_policy.get("length", 5))
        found: list[str] = []
        for digits in itertools.product("7392058164", repeat=length):
            pin = "".join(digits)
            if not pin_rules.check(pin, self.pin_policy):
                found.append(pin)
                if len(found) == 2:
                    return found
        raise CheckFailed("no PIN satisfies the published PIN policy")

    @cached_property
    def valid_pin(self) -> str:
        return self._acceptable_pins()[0]

    @cached_property
    def wrong_pin(self) -> str:
        return self._acceptable_pins()[1]

    # -- platform and app ---------------------------------------------------------------------

    @cached_property
    def attester(self) -> Attester:
        return Attester.load(self.config.platform_ca_cert, self.config.platform_ca_key)

    @property
    def platform_ca(self) -> PlatformCA:
        return self.attester.ca

    @cached_property
    def app(self) -> AppIdentity:
        digest = self.config.signing_certificate_sha256 or GENUINE_SIGNING_CERTIFICATE_SHA256
        return AppIdentity(self.config.app_id, self.config.app_version, digest)

    # -- relying party ------------------------------------------------------------------------

    @cached_property
    def rp(self) -> RelyingParty:
        return RelyingParty(
            http=self.http,
            issuer=self.issuer,
            metadata=self.metadata,
            client_id=self.config.rp_client_id,
            client_secret=self.config.rp_client_secret,
            timeout=self.config.timeout_s,
        )

    def new_enrollment(self, user_id: str | None = None) -> dict[str, Any]:
        return self.rp.create_enrollment(user_id)

    # -- raw agents (negative tests) ----------------------------------------------------------

    def new_agent(self, *, app: AppIdentity | None = None) -> Agent:
        return Agent(
            http=self.http,
            issuer=self.issuer,
            metadata=self.metadata,
            attester=self.attester,
            app=app or self.app,
            timeout=self.config.timeout_s,
        )

    def registered_agent(self) -> Agent:
        agent = self.new_agent()
        agent.register()
        return agent

    def enrolled_agent(self) -> Agent:
        """A freshly registered and enrolled raw agent (its own user)."""
        agent = self.registered_agent()
        enrollment = self.new_enrollment()
        agent.enroll(enrollment_code(enrollment["enrollment_uri"]))
        return agent

    def shared_agent(self) -> Agent:
        """One enrolled agent reused by checks that leave it usable (no wrong PINs)."""
        if self._shared_agent is None:
            self._shared_agent = self.enrolled_agent()
        return self._shared_agent

    # -- simulator devices (the app as it ships) ----------------------------------------------

    def new_device(self, **switches: Any) -> Device:
        """A `simulator.Device` for the target, trusting the configured platform CA.

        Switches are passed through: `app=AppBuild.tampered()`, `rooted=True`, `emulator=True`,
        `os_version="9"`, ...
        """
        from simulator import AppBuild, Device

        switches.setdefault("platform_ca", self.platform_ca)
        switches.setdefault(
            "app",
            AppBuild(
                app_id=self.app.app_id,
                version=self.app.version,
                signing_certificate_sha256=self.app.signing_certificate_sha256,
            ),
        )
        return Device(issuer=self.issuer, **switches)

    def enrolled_device(self, **switches: Any) -> tuple[Device, dict[str, Any]]:
        """Register a device, create an enrollment as the RP, scan its QR image, enroll.

        Returns the device and the RP's enrollment creation answer.
        """
        from simulator import qr

        device = self.new_device(**switches)
        device.register_app()
        enrollment = self.new_enrollment()
        png_b64 = enrollment.get("qr_png")
        if not isinstance(png_b64, str):
            raise CheckFailed("POST /rp/enrollments: no qr_png in the answer")
        png = base64.b64decode(png_b64)
        uri = qr.decode(png)
        if uri != enrollment["enrollment_uri"]:
            raise CheckFailed(
                f"QR code says {uri!r}, enrollment_uri says {enrollment['enrollment_uri']!r}"
            )
        device.enroll(qr=png, pin=self.valid_pin)
        return device, enrollment

    @staticmethod
    def random_id() -> str:
        return secrets.token_hex(6)

    def wait_for_expiry(self, expires_in: Any, what: str) -> None:
        """Sleep until an artefact with `expires_in` has expired, or skip if that takes too long."""
        if not isinstance(expires_in, int) or expires_in < 0:
            raise CheckFailed(
                f"{what}: expires_in must be a non-negative integer, got {expires_in!r}"
            )
        if expires_in + 1 > self.config.max_wait_s:
            raise CheckSkipped(
                f"{what} lives {expires_in} s, longer than max_wait_s "
                f"({self.config.max_wait_s:g} s); run against a server with "
                "short lifetimes to test expiry"
            )
        time.sleep(expires_in + 1.1)
