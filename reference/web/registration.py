"""App registration endpoints (spec chapter 2)."""

from __future__ import annotations

from flask import Blueprint, Response, g

from reference.core.registration import issue_registration_nonce, register_client
from reference.web.http import json_body, no_store, server
from reference.web.rate_limits import charge

blueprint = Blueprint("registration", __name__)


@blueprint.post("/register/nonce")
def nonce() -> Response:
    charge("registration_nonce")
    issued = issue_registration_nonce(server())
    return no_store({"nonce": issued.nonce, "expires_in": issued.expires_in}, 201)


@blueprint.post("/register")
def register() -> Response:
    registration = register_client(server(), json_body().get("attestation"))
    g.client_id = registration.client.client_id
    return no_store(registration.as_json(), 201)
