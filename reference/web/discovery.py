"""Discovery (spec §1.1, §1.2), the OpenAPI document and the health probe."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response, jsonify

from reference.core.discovery import authorization_server_metadata, jwks
from reference.web.http import server

blueprint = Blueprint("discovery", __name__)
OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"


@cache
def openapi_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(OPENAPI_FILE.read_text())
    return document


@blueprint.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    return jsonify(authorization_server_metadata(server()))


@blueprint.get("/jwks.json")
def key_set() -> Response:
    response = jsonify(jwks(server()))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@blueprint.get("/healthz")
def health() -> Response:
    return jsonify({"status": "ok"})
