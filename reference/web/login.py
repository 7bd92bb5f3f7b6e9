"""Login endpoints (spec chapter 5): challenge and the token endpoint."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from reference.core.jose import decode_unverified
from reference.core.login import issue_challenge
from reference.core.token_endpoint import handle_token_request
from reference.web.http import app_client, form_body, json_body, no_store, server

blueprint = Blueprint("login", __name__)


@blueprint.post("/login/challenge")
def challenge() -> Response:
    client = app_client(json_body())
    issued = issue_challenge(server(), client)
    return no_store({"challenge": issued.challenge, "expires_in": issued.expires_in}, 201)


@blueprint.post("/token")
def token() -> Response:
    form = form_body()
    g.grant_type = form.get("grant_type")
    result = handle_token_request(server(), form, request.headers.getlist("DPoP"))
    # The request succeeded, so its client assertion was verified: name the client in the log.
    g.client_id = decode_unverified(form["client_assertion"]).claims.get("iss")
    return no_store(result)
