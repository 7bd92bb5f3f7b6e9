"""Compact JWS built from header and claims, with the overrides negative tests need.

An override changes exactly one JOSE header member or claim; the value `REMOVE` deletes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Final

from reference.core.jose import b64u_encode

#: JOSE header member names: an override with one of these names changes the header.
HEADER_MEMBERS: Final = frozenset(
    {"alg", "typ", "kid", "jwk", "x5c", "x5u", "jku", "x5t", "crit", "cty", "b64", "zip", "enc"}
)


class Sentinel(Enum):
    """Override values with a meaning of their own (not sent as such)."""

    REMOVE = "REMOVE"
    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return self.value


#: Override value that deletes a header member, claim or form/JSON member.
REMOVE: Final = Sentinel.REMOVE
#: "Do what the app normally does" (e.g. a fresh DPoP proof in `token_request`).
DEFAULT: Final = Sentinel.DEFAULT


def apply_overrides(target: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Set each override in `target`, deleting the members whose override is `REMOVE`."""
    for name, value in overrides.items():
        if value is REMOVE:
            target.pop(name, None)
        else:
            target[name] = value
    return target


def drop_removed(target: dict[str, Any]) -> None:
    """Delete the members whose value is `REMOVE` (form and JSON bodies)."""
    for name in [name for name, value in target.items() if value is REMOVE]:
        del target[name]


def split_overrides(
    overrides: Mapping[str, Any],
    header: Mapping[str, Any] | None,
    claims: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sort keyword overrides into header and claim changes by name (see `HEADER_MEMBERS`)."""
    header_changes: dict[str, Any] = dict(header or {})
    claim_changes: dict[str, Any] = dict(claims or {})
    for name, value in overrides.items():
        if name in HEADER_MEMBERS:
            header_changes[name] = value
        else:
            claim_changes[name] = value
    return header_changes, claim_changes


def _segment(data: Mapping[str, Any]) -> str:
    return b64u_encode(json.dumps(data, separators=(",", ":")).encode("utf-8"))


def compose_jws(
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    sign: Callable[[bytes], bytes],
    *,
    signature: bytes | None = None,
) -> str:
    """Compact JWS from header and claims; `sign` gets the signing input (raw r||s back).

    `signature` replaces the real signature (e.g. `b""` or 64 zero bytes for negative tests).
    """
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    raw = sign(signing_input.encode("ascii")) if signature is None else signature
    return f"{signing_input}.{b64u_encode(raw)}"


def build_jws(
    header: dict[str, Any],
    claims: dict[str, Any],
    sign: Callable[[bytes], bytes],
    overrides: Mapping[str, Any],
    header_changes: Mapping[str, Any] | None,
    claim_changes: Mapping[str, Any] | None,
    *,
    signature: bytes | None = None,
) -> str:
    """`compose_jws` after the changes of `split_overrides(overrides, header_changes, ...)`."""
    to_header, to_claims = split_overrides(overrides, header_changes, claim_changes)
    return compose_jws(
        apply_overrides(header, to_header),
        apply_overrides(claims, to_claims),
        sign,
        signature=signature,
    )
