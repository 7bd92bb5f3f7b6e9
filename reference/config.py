"""Server configuration: from the environment (`MIA_*`), a mapping, or defaults for a laptop."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reference.core.rate_limit import Limit
from reference.core.settings import Lifetimes

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_POLICY_TEMPLATE = PACKAGE_DIR / "default_policy.toml"


def _lifetimes_from_env(env: Mapping[str, str]) -> Lifetimes:
    """`MIA_LIFETIME_ACCESS_TOKEN=600` and the like override one lifetime (seconds)."""
    changes = {}
    for name in Lifetimes.__dataclass_fields__:
        raw = env.get(f"MIA_LIFETIME_{name.upper()}")
        if raw is not None:
            if not raw.isdigit() or int(raw) <= 0:
                raise ValueError(
                    f"MIA_LIFETIME_{name.upper()} must be a positive number of seconds"
                )
            changes[name] = int(raw)
    return replace(Lifetimes(), **changes)


@dataclass(frozen=True)
class AppConfig:
    issuer: str = "http://127.0.0.1:8000"
    database_url: str = "sqlite:///var/mia.db"
    policy_file: Path = Path("var/policy.toml")
    trusted_roots: tuple[Path, ...] = (Path("var/platform-ca/root.pem"),)
    secret_key: str | None = None
    data_dir: Path = Path("var")
    demo_users: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {
            "alice": ("Alice Doe", "alice-password"),
            "bob": ("Bob Smith", "bob-password"),
        }
    )
    lifetimes: Lifetimes = field(default_factory=Lifetimes)
    extra_resources: tuple[str, ...] = ()
    rate_limits: dict[str, Limit] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AppConfig:
        env = os.environ if environ is None else environ
        port = env.get("PORT", "8000")
        data_dir = Path(env.get("MIA_DATA_DIR", "var"))
        roots = env.get("MIA_TRUSTED_ROOTS")
        return cls(
            issuer=env.get("MIA_ISSUER", f"http://127.0.0.1:{port}").rstrip("/"),
            database_url=env.get("MIA_DATABASE_URL", f"sqlite:///{data_dir / 'mia.db'}"),
            policy_file=Path(env.get("MIA_POLICY_FILE", str(data_dir / "policy.toml"))),
            trusted_roots=tuple(Path(p) for p in roots.split(os.pathsep))
            if roots
            else (data_dir / "platform-ca" / "root.pem",),
            secret_key=env.get("MIA_SECRET_KEY"),
            data_dir=data_dir,
            lifetimes=_lifetimes_from_env(env),
        )

    def with_overrides(self, **changes: Any) -> AppConfig:
        return replace(self, **changes)

    @property
    def resources(self) -> tuple[str, ...]:
        """Accepted resource indicators (RFC 8707); the first, the sample API, is the default."""
        return (f"{self.issuer}/api", f"{self.issuer}/other-api", *self.extra_resources)

    def ensure_files(self) -> None:
        """Create the data directory, a policy from the template, and a session secret."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.policy_file.exists():
            self.policy_file.parent.mkdir(parents=True, exist_ok=True)
            self.policy_file.write_text(DEFAULT_POLICY_TEMPLATE.read_text())

    def session_secret(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "session-secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()
