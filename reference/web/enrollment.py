"""Enrollment endpoints (spec chapter 4): relying-party side and app side."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from reference.core.enrollment import (
    begin_enrollment,
    complete_enrollment,
    create_enrollment,
    enrollment_status,
)
from reference.qr_codes import qr_png_base64, qr_svg
from reference.web.http import app_client, json_body, no_store, relying_party, server

blueprint = Blueprint("enrollment", __name__)


@blueprint.post("/rp/enrollments")
def create() -> Response:
    rp = relying_party()
    body = json_body()
    ctx = server()
    created = create_enrollment(ctx, rp, body.get("user_id"), body.get("display_name"))
    enrollment_id = created.enrollment.enrollment_id
    return no_store(
        {
            "enrollment_id": enrollment_id,
            "enrollment_uri": created.enrollment_uri,
            "expires_in": created.expires_in,
            "status_url": ctx.settings.endpoint(f"/rp/enrollments/{enrollment_id}"),
            "qr_png": qr_png_base64(created.enrollment_uri),
            "qr_svg": qr_svg(created.enrollment_uri),
        },
        201,
    )


@blueprint.get("/rp/enrollments/<enrollment_id>")
def status(enrollment_id: str) -> Response:
    rp = relying_party()
    response = jsonify(enrollment_status(server(), rp.client_id, enrollment_id))
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/enroll/begin")
def begin() -> Response:
    body = json_body()
    client = app_client(body)
    ctx = server()
    begun = begin_enrollment(ctx, client, body.get("code"))
    return no_store(
        {
            "enrollment_session": begun.enrollment_session,
            "user": {"display_name": begun.display_name},
            "pin_policy": begun.pin_policy,
            "expires_in": begun.expires_in,
        }
    )


@blueprint.post("/enroll/complete")
def complete() -> Response:
    body = json_body()
    client = app_client(body)
    completed = complete_enrollment(
        server(), client, body.get("enrollment_session"), body.get("pin_public_key")
    )
    return no_store(
        {"authenticator_id": completed.authenticator_id, "user_id": completed.user_id}, 201
    )
