"""Shared request/response translation for the blueprints."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request

from reference.core.client_auth import authenticate_app, authenticate_relying_party
from reference.core.errors import InvalidClient, InvalidRequest
from reference.core.policy import RelyingPartyPolicy
from reference.core.records import ClientRecord
from reference.core.settings import ServerContext
from reference.web.rate_limits import charge_failure, refuse_if_exhausted


def server() -> ServerContext:
    context: ServerContext = current_app.extensions["mia"]
    return context


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object (Content-Type: application/json)")
    return body


def form_body() -> dict[str, str]:
    if request.mimetype != "application/x-www-form-urlencoded":
        raise InvalidRequest("the body must be application/x-www-form-urlencoded")
    form = request.form
    repeated = [name for name in form if len(form.getlist(name)) > 1]
    # RFC 6749 §3.2: request parameters MUST NOT be included more than once.
    if repeated:
        raise InvalidRequest(f"repeated parameters: {', '.join(sorted(repeated))}")
    return form.to_dict()


def app_client(body: dict[str, Any]) -> ClientRecord:
    client = authenticate_app(
        server(), body.get("client_assertion_type"), body.get("client_assertion")
    )
    g.client_id = client.client_id
    return client


def relying_party() -> RelyingPartyPolicy:
    refuse_if_exhausted("relying_party_failure")
    try:
        rp = authenticate_relying_party(server(), request.headers.get("Authorization"))
    except InvalidClient:
        charge_failure("relying_party_failure")
        raise
    g.client_id = rp.client_id
    return rp


def no_store(payload: Any, status: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
