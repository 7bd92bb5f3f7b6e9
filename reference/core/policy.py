"""Server-side policy (spec §2.5, §4.1): apps, versions, OS minimums, PIN rules, relying parties.

The policy lives in a TOML file the administrator edits; `PolicySource` re-reads it when its
modification time changes, so a change takes effect without a restart.
"""

from __future__ import annotations

import os
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERSION_STATUSES = ("enabled", "login-only", "disabled")


class PolicyError(ValueError):
    """The policy file is not valid; the previous policy stays in force."""


@dataclass(frozen=True, slots=True)
class PinPolicy:
    length: int = 5
    max_failed_attempts: int = 5
    disallow_sequences: bool = True
    disallow_repeats: bool = True
    blocklist: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "length": self.length,
            "max_failed_attempts": self.max_failed_attempts,
            "disallow_sequences": self.disallow_sequences,
            "disallow_repeats": self.disallow_repeats,
            "blocklist": list(self.blocklist),
        }


@dataclass(frozen=True, slots=True)
class AppPolicy:
    app_id: str
    signing_certificate_sha256: str
    require_device_integrity: bool
    versions: dict[str, str]

    def version_status(self, version: str) -> str:
        """Unknown versions are treated as disabled."""
        return self.versions.get(version, "disabled")


@dataclass(frozen=True, slots=True)
class RelyingPartyPolicy:
    client_id: str
    secret_sha256: str


@dataclass(frozen=True, slots=True)
class Policy:
    pin: PinPolicy
    apps: dict[str, AppPolicy]
    minimum_os: dict[str, str]
    relying_parties: dict[str, RelyingPartyPolicy] = field(default_factory=dict)


def version_at_least(version: str, minimum: str) -> bool:
    """Dotted numeric comparison ("14.2" >= "14"); a non-numeric part never satisfies it."""
    try:
        have = [int(part) for part in version.split(".")]
        need = [int(part) for part in minimum.split(".")]
    except ValueError:
        return False
    width = max(len(have), len(need))
    return have + [0] * (width - len(have)) >= need + [0] * (width - len(need))


def parse_policy(data: dict[str, Any]) -> Policy:
    try:
        pin_data = data.get("pin", {})
        pin = PinPolicy(
            length=int(pin_data.get("length", 5)),
            max_failed_attempts=int(pin_data.get("max_failed_attempts", 5)),
            disallow_sequences=bool(pin_data.get("disallow_sequences", True)),
            disallow_repeats=bool(pin_data.get("disallow_repeats", True)),
            blocklist=tuple(str(entry) for entry in pin_data.get("blocklist", ())),
        )
        if not 4 <= pin.length <= 12:
            raise PolicyError("pin.length must be between 4 and 12")
        # NIST SP 800-63B §5.2.2 caps consecutive failed attempts at 100.
        if not 1 <= pin.max_failed_attempts <= 100:
            raise PolicyError("pin.max_failed_attempts must be between 1 and 100")
        apps = {}
        for app_id, app in data.get("apps", {}).items():
            versions = {str(k): str(v) for k, v in app.get("versions", {}).items()}
            bad = {status for status in versions.values() if status not in VERSION_STATUSES}
            if bad:
                raise PolicyError(f"apps.{app_id}: unknown version status {sorted(bad)}")
            apps[app_id] = AppPolicy(
                app_id=app_id,
                signing_certificate_sha256=str(app["signing_certificate_sha256"]),
                require_device_integrity=bool(app.get("require_device_integrity", True)),
                versions=versions,
            )
        relying_parties = {
            client_id: RelyingPartyPolicy(client_id, str(rp["secret_sha256"]).lower())
            for client_id, rp in data.get("relying_parties", {}).items()
        }
        minimum_os = {str(k).lower(): str(v) for k, v in data.get("os", {}).items()}
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, PolicyError):
            raise
        raise PolicyError(f"invalid policy: {exc}") from exc
    return Policy(pin=pin, apps=apps, minimum_os=minimum_os, relying_parties=relying_parties)


def load_policy_file(path: Path) -> Policy:
    with path.open("rb") as handle:
        return parse_policy(tomllib.load(handle))


class PolicySource:
    """The current policy, re-read from its file when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime = os.stat(path).st_mtime_ns
        self._policy = load_policy_file(path)

    def current(self) -> Policy:
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except OSError:
            return self._policy  # file briefly missing during an editor's save: keep the last
        if mtime != self._mtime:
            with self._lock:
                if mtime != self._mtime:
                    try:
                        self._policy = load_policy_file(self.path)
                    except (OSError, PolicyError, tomllib.TOMLDecodeError):
                        return self._policy  # a broken edit never replaces a working policy
                    finally:
                        self._mtime = mtime
        return self._policy
