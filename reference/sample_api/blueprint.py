"""The sample customer API: `/api/me` and `/api/accounts`, protected by DPoP-bound tokens."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from reference.core.errors import InvalidDPoPProof, InvalidToken, MiaError
from reference.sample_api.resource_server import AccessContext, ResourceServer

blueprint = Blueprint("sample_api", __name__, url_prefix="/api")

SAMPLE_ACCOUNTS = [
    {
        "iban": "NL91 MIAB 0417 1643 00",
        "name": "Current account",
        "balance": "1520.35",
        "currency": "EUR",
    },
    {"iban": "NL20 MIAB 0123 4567 89", "name": "Savings", "balance": "12000.00", "currency": "EUR"},
]


def _unauthorized(error: MiaError) -> Response:
    # RFC 9449 §7.1 and RFC 6750 §3: 401 with a DPoP challenge naming the error.
    response = jsonify(error.body())
    response.status_code = 401
    challenge = f'DPoP error="{error.code}", algs="ES256"'
    if request.headers.get("Authorization") is None:
        challenge = 'DPoP algs="ES256"'
    response.headers["WWW-Authenticate"] = challenge
    response.headers["Cache-Control"] = "no-store"
    return response


def protected(view: Callable[[AccessContext], Response]) -> Callable[[], Response]:
    @wraps(view)
    def wrapper() -> Response:
        resource_server: ResourceServer = current_app.extensions["mia_resource_server"]
        try:
            access = resource_server.authenticate(
                request.headers.get("Authorization"),
                request.headers.getlist("DPoP"),
                method=request.method,
                url=resource_server.issuer + request.path,
            )
        except (InvalidToken, InvalidDPoPProof) as error:
            return _unauthorized(error)
        g.client_id = access.client_id
        return view(access)

    return wrapper


@blueprint.get("/me")
@protected
def me(access: AccessContext) -> Response:
    body: dict[str, Any] = {
        "sub": access.sub,
        "client_id": access.client_id,
        "scope": " ".join(access.scope),
        "amr": list(access.amr),
    }
    return jsonify(body)


@blueprint.get("/accounts")
@protected
def accounts(access: AccessContext) -> Response:
    return jsonify({"owner": access.sub, "accounts": SAMPLE_ACCOUNTS})
