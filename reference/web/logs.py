"""Structured (JSON lines) request logs. Only metadata: never bodies, tokens, codes or headers."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from flask import Flask, Response, g, request

log = logging.getLogger("mia.http")


class JsonFormatter(logging.Formatter):
    FIELDS = ("method", "path", "status", "duration_ms", "client_id", "error", "grant_type")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in self.FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger("mia")
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


def install_request_logging(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started_at = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        error = None
        if response.status_code >= 400 and response.is_json:
            body = response.get_json(silent=True)
            error = body.get("error") if isinstance(body, dict) else None
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.get("started_at", 0.0)) * 1000, 2),
                "client_id": g.get("client_id"),
                "error": error,
                "grant_type": g.get("grant_type"),
            },
        )
        return response
