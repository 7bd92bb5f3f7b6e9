"""Introspection (RFC 7662) and revocation (RFC 7009) endpoints (spec chapter 8)."""

from __future__ import annotations

from flask import Blueprint, Response

from reference.core.token_management import Caller, introspect, revoke
from reference.web.http import app_client, form_body, no_store, relying_party, server

blueprint = Blueprint("token_management", __name__)


def _caller(form: dict[str, str]) -> Caller:
    if "client_assertion" in form:
        return Caller(client_id=app_client(form).client_id)
    return Caller(relying_party=relying_party().client_id)


@blueprint.post("/introspect")
def introspection() -> Response:
    form = form_body()
    caller = _caller(form)
    return no_store(introspect(server(), caller, form.get("token"), form.get("token_type_hint")))


@blueprint.post("/revoke")
def revocation() -> Response:
    form = form_body()
    caller = _caller(form)
    revoke(server(), caller, form.get("token"), form.get("token_type_hint"))
    response = Response(status=200)
    response.headers["Cache-Control"] = "no-store"
    return response
