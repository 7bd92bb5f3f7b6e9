"""Persistence behind one small interface (`Storage`), implemented on SQLAlchemy Core."""

from reference.storage.interface import Storage
from reference.storage.sql import SqlStorage

__all__ = ["SqlStorage", "Storage"]
