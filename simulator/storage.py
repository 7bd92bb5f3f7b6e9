"""App storage: what the app keeps in its sandbox (files, preferences), as a plain JSON record.

Anyone with a backup, a rooted phone or forensic tools can copy it: `clone()` models exactly that
copy. Keystore keys are not part of it (they live in `simulator.keystore`). Per spec §5.1
it never holds the PIN public key, anything derived from it (thumbprint) or anything signed with
the PIN key; only the camouflaged scalar (`pin_masked_key`), its `pin_salt` and the random
`authenticator_id`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any


@dataclass
class AppStorage:
    """Plain, JSON-serialisable app state. Bytes are kept as base64url text."""

    issuer: str | None = None
    client_id: str | None = None
    authenticator_id: str | None = None
    pin_salt: str | None = None
    pin_masked_key: str | None = None
    refresh_token: str | None = None
    user_id: str | None = None
    display_name: str | None = None

    # -- dict-like conveniences ---------------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        if name not in self.field_names():
            raise KeyError(name)
        return getattr(self, name)

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in self.field_names():
            raise KeyError(name)
        setattr(self, name, value)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AppStorage:
        known = set(cls.field_names())
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown app storage fields: {sorted(unknown)}")
        return cls(**data)

    # -- serialisation ------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> AppStorage:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("app storage JSON must be an object")
        return cls.from_dict(data)

    def clone(self) -> AppStorage:
        """A full copy of the app storage, as an attacker copying the sandbox would get."""
        return replace(self)

    def save(self, path: str | os.PathLike[str]) -> None:
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())
        os.replace(tmp, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AppStorage:
        target = Path(path)
        if not target.exists():
            return cls()
        return cls.from_json(target.read_text(encoding="utf-8"))

    # -- state helpers ------------------------------------------------------------------------

    @property
    def registered(self) -> bool:
        return self.client_id is not None

    @property
    def enrolled(self) -> bool:
        return (
            self.authenticator_id is not None
            and self.pin_salt is not None
            and self.pin_masked_key is not None
        )

    def forget_enrollment(self) -> None:
        self.authenticator_id = None
        self.pin_salt = None
        self.pin_masked_key = None
        self.refresh_token = None
        self.user_id = None
        self.display_name = None
