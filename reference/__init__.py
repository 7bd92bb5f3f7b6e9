"""MIA reference server: the open Mobile Identity & Access protocol, implemented."""

from reference.app import create_app

__all__ = ["create_app"]
