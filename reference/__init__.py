"""MIA reference server: the open Mobile Identity & Access protocol, implemented.

`create_app` is imported on first use, so that the framework-free core (`reference.core`), which
the simulator and the conformance suite share, loads without the web stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reference.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from reference.app import create_app

        return create_app
    raise AttributeError(f"module 'reference' has no attribute {name!r}")
