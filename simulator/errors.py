"""Errors the simulated app raises; each knows the screen the app would show."""

from __future__ import annotations

from typing import Any

from reference.core.errors import CATALOGUE
from simulator.screens import Screen, screen_for_error


class SimulatorError(Exception):
    """Base class: something the app shows on an error screen."""

    screen: Screen = Screen.ERROR_GENERIC

    @property
    def code(self) -> str:
        return "simulator_error"


class ServerError(SimulatorError):
    """A non-2xx answer: catalogue `code`, HTTP `status`, `description` and extra body members."""

    def __init__(
        self,
        code: str,
        status: int,
        description: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self._code = code
        self.status = status
        self.description = description or ""
        self.extra: dict[str, Any] = dict(extra or {})
        self.screen = screen_for_error(code)
        super().__init__(f"{code} ({status}): {self.description}".rstrip(": "))

    @property
    def code(self) -> str:
        return self._code

    @property
    def meaning(self) -> str | None:
        entry = CATALOGUE.get(self._code)
        return entry.meaning if entry else None

    @property
    def attempts_remaining(self) -> int | None:
        value = self.extra.get("attempts_remaining")
        return value if isinstance(value, int) else None

    def __repr__(self) -> str:
        return (
            f"ServerError(code={self._code!r}, status={self.status}, "
            f"description={self.description!r}, extra={self.extra!r})"
        )


class TransportError(SimulatorError):
    """The server could not be reached."""

    screen = Screen.ERROR_NO_CONNECTION

    @property
    def code(self) -> str:
        return "no_connection"


class PinPolicyViolation(SimulatorError, ValueError):
    """The chosen PIN breaks the server's PIN policy (checked locally, spec §4.1)."""

    screen = Screen.ERROR_PIN_POLICY

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("PIN refused by the PIN policy: " + " ".join(self.problems))

    @property
    def code(self) -> str:
        return "pin_policy_violation"


class PinMismatch(SimulatorError, ValueError):
    screen = Screen.ERROR_PIN_MISMATCH

    def __init__(self) -> None:
        super().__init__("the confirmation PIN differs from the chosen PIN")

    @property
    def code(self) -> str:
        return "pin_mismatch"


class InvalidQrCode(SimulatorError, ValueError):
    screen = Screen.ERROR_INVALID_QR

    @property
    def code(self) -> str:
        return "invalid_qr"


class DeviceStateError(SimulatorError, RuntimeError):
    """The flow needs a step that has not happened (register the app, enroll, log in)."""

    @property
    def code(self) -> str:
        return "invalid_state"
