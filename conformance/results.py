"""Check outcomes and the exceptions a check raises to report something other than PASSED."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    WARNING = "WARNING"
    SKIPPED = "SKIPPED"


class CheckFailed(AssertionError):
    """The server under test does not follow the section the check proves."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CheckSkipped(Exception):
    """The check cannot run against this target or configuration (the reason says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CheckWarning(Exception):
    """The server is conformant but does something the spec advises against (SHOULD level)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    section: str
    title: str
    chapter: str
    result: Outcome
    reason: str
    duration_ms: int

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["result"] = self.result.value
        return data
