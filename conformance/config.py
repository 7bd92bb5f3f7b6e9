"""The suite's JSON configuration (docs/conformance.md) with defaults for `--target` alone.

```json
{"target": "http://127.0.0.1:8000",
 "platform_ca": {"cert": "var/platform-ca/root.pem", "key": "var/platform-ca/root-key.pem"},
 "relying_party": {"client_id": "demo-bank-backend", "client_secret": "demo-bank-backend-secret"},
 "app": {"app_id": "com.example.bank", "version": "2.0.0", "signing_certificate_sha256": "..."},
 "versions": {"login_only": "1.9.0", "disabled": "1.0.0"},
 "min_os": {"android": "12"},
 "pin_limit": 5,
 "expected_failures": {"CHECK-ID": "reason"},
 "fixtures": {"disabled_registered_client": {...}}}
```
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PLATFORM_CA_DIR = Path("var/platform-ca")


class ConfigError(ValueError):
    """The configuration file is missing a member or has a wrong type."""


@dataclass(slots=True)
class Config:
    target: str
    platform_ca_cert: Path = DEFAULT_PLATFORM_CA_DIR / "root.pem"
    platform_ca_key: Path = DEFAULT_PLATFORM_CA_DIR / "root-key.pem"
    rp_client_id: str = "demo-bank-backend"
    rp_client_secret: str = "demo-bank-backend-secret"  # noqa: S105 - the documented demo secret
    app_id: str = "com.example.bank"
    app_version: str = "2.0.0"
    signing_certificate_sha256: str | None = None  # None: the simulator's genuine build
    version_login_only: str = "1.9.0"
    version_disabled: str = "1.0.0"
    min_os: dict[str, str] = field(default_factory=lambda: {"android": "12"})
    pin_limit: int = 5
    expected_failures: dict[str, str] = field(default_factory=dict)
    fixtures: dict[str, Any] = field(default_factory=dict)
    timeout_s: float = 10.0
    # Property-based checks: examples per property (hypothesis max_examples).
    max_examples: int = 25
    # Expiry checks wait for an artefact to expire when its `expires_in` is at most this long;
    # otherwise they are SKIPPED (point them at a server configured with short lifetimes).
    max_wait_s: float = 5.0

    @property
    def platform_ca_dir(self) -> Path:
        return self.platform_ca_cert.parent

    base_dir: Path = field(default_factory=Path.cwd)

    def resolve(self, value: str) -> Path:
        """A path from the configuration, relative to the configuration file's directory."""
        path = Path(value)
        return path if path.is_absolute() else self.base_dir / path

    @property
    def issuer(self) -> str:
        return self.target.rstrip("/")


def _get(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}{key} must be a {kind.__name__}")
    return value


def config_from_dict(
    data: dict[str, Any], *, target: str | None = None, base_dir: Path | None = None
) -> Config:
    """Build a Config from parsed JSON; `target` (from the command line) wins over the file."""
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a JSON object")
    url = target or data.get("target")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError("target must be an http(s) URL (config 'target' or --target)")
    base = base_dir or Path.cwd()
    config = Config(target=url.rstrip("/"), base_dir=base)

    def path(value: Any, where: str) -> Path:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a path string")
        p = Path(value)
        return p if p.is_absolute() else base / p

    if "platform_ca" in data:
        ca = _get(data, "platform_ca", dict, "")
        if "cert" in ca:
            config.platform_ca_cert = path(ca["cert"], "platform_ca.cert")
        if "key" in ca:
            config.platform_ca_key = path(ca["key"], "platform_ca.key")
        elif "cert" in ca:
            config.platform_ca_key = config.platform_ca_cert.parent / "root-key.pem"
        for named in (config.platform_ca_cert, config.platform_ca_key):
            if not named.exists():
                raise ConfigError(f"platform_ca: {named} does not exist")
    if "relying_party" in data:
        rp = _get(data, "relying_party", dict, "")
        config.rp_client_id = _get(rp, "client_id", str, "relying_party.")
        config.rp_client_secret = _get(rp, "client_secret", str, "relying_party.")
    if "app" in data:
        app = _get(data, "app", dict, "")
        if "app_id" in app:
            config.app_id = _get(app, "app_id", str, "app.")
        if "version" in app:
            config.app_version = _get(app, "version", str, "app.")
        if "signing_certificate_sha256" in app:
            config.signing_certificate_sha256 = _get(app, "signing_certificate_sha256", str, "app.")
    if "versions" in data:
        versions = _get(data, "versions", dict, "")
        if "login_only" in versions:
            config.version_login_only = _get(versions, "login_only", str, "versions.")
        if "disabled" in versions:
            config.version_disabled = _get(versions, "disabled", str, "versions.")
    if "min_os" in data:
        min_os = _get(data, "min_os", dict, "")
        config.min_os = {str(k): str(v) for k, v in min_os.items()}
    if "pin_limit" in data:
        config.pin_limit = _get(data, "pin_limit", int, "")
        if config.pin_limit < 1:
            raise ConfigError("pin_limit must be at least 1")
    if "expected_failures" in data:
        failures = _get(data, "expected_failures", dict, "")
        config.expected_failures = {str(k): str(v) for k, v in failures.items()}
    if "fixtures" in data:
        config.fixtures = dict(_get(data, "fixtures", dict, ""))
    if "timeout_s" in data:
        config.timeout_s = float(data["timeout_s"])
    if "max_wait_s" in data:
        config.max_wait_s = float(data["max_wait_s"])
    if "max_examples" in data:
        config.max_examples = _get(data, "max_examples", int, "")
    return config


def load_config(path: str | Path | None = None, *, target: str | None = None) -> Config:
    """Read a JSON config file (relative paths resolve against its directory), or use defaults."""
    if path is None:
        return config_from_dict({}, target=target)
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file} is not JSON: {exc}") from exc
    return config_from_dict(data, target=target, base_dir=file.resolve().parent)
