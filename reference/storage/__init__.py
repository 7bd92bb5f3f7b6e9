"""Persistence behind one small interface (`Storage`), implemented on SQLAlchemy Core.

`SqlStorage` is imported on first use, so the protocol core, which only needs the interface,
loads without SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reference.storage.interface import Storage

if TYPE_CHECKING:
    from reference.storage.sql import SqlStorage

__all__ = ["SqlStorage", "Storage"]


def __getattr__(name: str) -> Any:
    if name == "SqlStorage":
        from reference.storage.sql import SqlStorage

        return SqlStorage
    raise AttributeError(f"module 'reference.storage' has no attribute {name!r}")
