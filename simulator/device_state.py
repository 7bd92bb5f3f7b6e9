"""What one installation of the app holds and shows: switches, keys, storage, tokens, screen.

The base of `Device`: the message builders, the server client and the user flows all read and
change this one state, so callers can swap parts (`device.transport = ...`,
`device.os_version = "9"`) between steps.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from reference.core.jose import b64u_encode
from simulator.errors import DeviceStateError, ServerError
from simulator.keystore import Keystore
from simulator.platform import AppBuild, PlatformCA, verdict_for
from simulator.responses import TokenSet
from simulator.screens import Screen
from simulator.storage import AppStorage
from simulator.transport import HttpResponse, HttpTransport, Transport

#: Keystore alias of the key the app registered with (client authentication, spec §3.2).
CLIENT_KEY: Final = "client"
#: Keystore alias of the DPoP key the tokens are bound to (spec §6).
DPOP_KEY: Final = "dpop"


class DeviceState:
    """The state every layer of `Device` shares (its constructor arguments are described there)."""

    def __init__(
        self,
        issuer: str,
        platform_ca: PlatformCA,
        app: AppBuild | None = None,
        *,
        os_name: str = "android",
        os_version: str = "14",
        rooted: bool = False,
        emulator: bool = False,
        transport: Transport | None = None,
        storage: AppStorage | None = None,
        keystore: Keystore | None = None,
        clock: Callable[[], float] = time.time,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.platform_ca = platform_ca
        self.app = app or AppBuild.genuine()
        self.os_name = os_name
        self.os_version = os_version
        self.rooted = rooted
        self.emulator = emulator
        self.transport: Transport = transport or HttpTransport()
        self.storage = storage if storage is not None else AppStorage(issuer=self.issuer)
        if self.storage.issuer is None:
            self.storage.issuer = self.issuer
        self.keystore = keystore if keystore is not None else Keystore()
        self.clock = clock
        self.random_bytes = random_bytes
        self.tokens: TokenSet | None = None
        self.user_display_name: str | None = self.storage.display_name
        self.pin_policy: dict[str, Any] | None = None
        self._metadata: dict[str, Any] | None = None
        self.screen: Screen = Screen.WELCOME
        self.screen_history: list[Screen] = [Screen.WELCOME]
        self.last_response: HttpResponse | None = None
        self.on_step: Callable[[str], None] | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(issuer={self.issuer!r}, app={self.app!r}, os={self.os_name} "
            f"{self.os_version}, rooted={self.rooted}, emulator={self.emulator}, "
            f"client_id={self.client_id!r})"
        )

    def _now(self) -> int:
        return int(self.clock())

    def _jti(self) -> str:
        return b64u_encode(self.random_bytes(16))

    def _show(self, screen: Screen) -> None:
        self.screen = screen
        self.screen_history.append(screen)

    def _step(self, text: str) -> None:
        if self.on_step is not None:
            self.on_step(text)

    def _fail(self, error: ServerError) -> ServerError:
        self._show(error.screen)
        return error

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.issuer + ("" if path_or_url.startswith("/") else "/") + path_or_url

    @staticmethod
    def htu(url: str) -> str:
        """RFC 9449 §4.2: the target URI without query and fragment."""
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))

    @property
    def client_id(self) -> str | None:
        return self.storage.client_id

    @property
    def authenticator_id(self) -> str | None:
        return self.storage.authenticator_id

    @property
    def verdict(self) -> list[str]:
        return verdict_for(rooted=self.rooted, emulator=self.emulator)

    def _require_client(self) -> str:
        if self.storage.client_id is None or CLIENT_KEY not in self.keystore:
            raise DeviceStateError("the app is not registered: call register_app() first")
        return self.storage.client_id

    def _require_enrollment(self) -> None:
        if not self.storage.enrolled:
            raise DeviceStateError("no authenticator enrolled: call enroll() first")
