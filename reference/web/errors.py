"""Every failure becomes a catalogue error response: no HTML error pages, no stack traces."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from reference.core.errors import CATALOGUE, MiaError

log = logging.getLogger("mia.http")

_HTTP_CODES = {404: "not_found", 429: "rate_limited"}


def error_response(
    code: str, description: str, status: int | None = None, **extra: object
) -> Response:
    response = jsonify({"error": code, "error_description": description, **extra})
    response.status_code = status or CATALOGUE[code].status
    response.headers["Cache-Control"] = "no-store"
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(MiaError)
    def _protocol_error(error: MiaError) -> Response:
        response = error_response(error.code, error.description, **error.extra)
        if error.code == "rate_limited":
            response.headers["Retry-After"] = str(error.extra.get("retry_after", 60))
        if error.code == "invalid_client" and "Authorization" in request.headers:
            response.headers["WWW-Authenticate"] = 'Basic realm="mia"'
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 400
        code = _HTTP_CODES.get(status, "invalid_request")
        return error_response(code, error.description or error.name, status)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.path})
        return error_response("server_error", "internal error")
