"""The check registry: `@check(id, section=..., title=...)` registers a function as a check.

Checks live in chapter modules under `conformance.checks` (one module per spec chapter); the
chapter of a check is the name of the module that defines it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.context import Context

CheckFunction = Callable[["Context"], None]

# Chapter modules in spec order; the report groups checks in this order.
CHAPTERS: tuple[str, ...] = (
    "discovery",
    "registration",
    "client_auth",
    "enrollment",
    "pin_login",
    "dpop",
    "refresh",
    "introspection",
    "api",
    "robustness",
)

CHAPTER_TITLES: dict[str, str] = {
    "discovery": "Discovery, keys and JOSE",
    "registration": "App registration with platform attestation",
    "client_auth": "Client authentication",
    "enrollment": "Enrollment by QR",
    "pin_login": "PIN login and the authenticator assertion",
    "dpop": "DPoP at the token endpoint",
    "refresh": "Refresh tokens",
    "introspection": "Introspection and revocation",
    "api": "Protected API (resource server)",
    "robustness": "Robustness and property-based checks",
}

_ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    section: str
    title: str
    chapter: str
    func: CheckFunction

    def __call__(self, ctx: Context) -> None:
        self.func(ctx)


REGISTRY: dict[str, Check] = {}


def check(check_id: str, *, section: str, title: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as the check `check_id` proving spec `section`."""
    if not _ID_PATTERN.match(check_id):
        raise ValueError(f"check id {check_id!r} must look like 'DPOP-HTM'")

    def decorator(func: CheckFunction) -> CheckFunction:
        if check_id in REGISTRY and REGISTRY[check_id].func is not func:
            raise ValueError(f"duplicate check id {check_id}")
        chapter = func.__module__.rsplit(".", 1)[-1]
        REGISTRY[check_id] = Check(check_id, section, title, chapter, func)
        return func

    return decorator


def load_checks() -> list[Check]:
    """Import every chapter module and return all checks in chapter, then definition, order."""
    for chapter in CHAPTERS:
        importlib.import_module(f"conformance.checks.{chapter}")
    order = {name: index for index, name in enumerate(CHAPTERS)}
    return sorted(REGISTRY.values(), key=lambda c: order.get(c.chapter, len(order)))
