"""Conformance checks, one module per spec chapter (see `conformance.registry.CHAPTERS`)."""
