"""Demo web site views: a relying party that enrolls its users' phones."""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from reference.core.enrollment import create_enrollment, enrollment_status
from reference.core.jose import constant_time_equal
from reference.core.policy import RelyingPartyPolicy
from reference.demo_site.passwords import dummy_hash, verify_password
from reference.qr_codes import qr_png_base64
from reference.web.http import server
from reference.web.rate_limits import charge_failure, refuse_if_exhausted

blueprint = Blueprint("demo", __name__, url_prefix="/demo", template_folder="templates")

DEMO_RELYING_PARTY = RelyingPartyPolicy("demo-web-site", "")


def _csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        session["csrf"] = token
    return token


def _check_csrf() -> None:
    sent = request.form.get("csrf", "")
    if not constant_time_equal(sent, session.get("csrf", "\x00")):
        abort(400, "invalid CSRF token")


def _user() -> dict[str, Any] | None:
    user = session.get("user")
    return user if isinstance(user, dict) else None


@blueprint.after_request
def _page_headers(response: Response) -> Response:
    # The enrollment QR code must never be framed by another site (QR-jacking, clickjacking).
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"csrf_token": _csrf_token, "current_user": _user}


@blueprint.get("/")
def home() -> ResponseReturnValue:
    if _user() is None:
        return redirect(url_for("demo.login"))
    return redirect(url_for("demo.devices"))


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    error = None
    if request.method == "POST":
        _check_csrf()
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        refuse_if_exhausted("password_failure_address")
        refuse_if_exhausted("password_failure_user", username)
        user = server().storage.get_demo_user(username)
        valid = verify_password(password, user.password_hash if user else dummy_hash())
        if user is not None and valid:
            session.clear()
            session["user"] = {"id": user.username, "name": user.display_name}
            return redirect(url_for("demo.devices"))
        charge_failure("password_failure_address")
        charge_failure("password_failure_user", username)
        error = "Unknown user name or wrong password."
    return render_template("login.html", error=error)


@blueprint.post("/logout")
def logout() -> ResponseReturnValue:
    _check_csrf()
    session.clear()
    return redirect(url_for("demo.login"))


@blueprint.get("/devices")
def devices() -> ResponseReturnValue:
    if _user() is None:
        return redirect(url_for("demo.login"))
    return render_template("devices.html")


@blueprint.post("/enrollments")
def add_phone() -> ResponseReturnValue:
    user = _user()
    if user is None:
        return redirect(url_for("demo.login"))
    _check_csrf()
    created = create_enrollment(server(), DEMO_RELYING_PARTY, user["id"], user["name"])
    session.setdefault("enrollments", [])
    session["enrollments"] = [*session["enrollments"][-4:], created.enrollment.enrollment_id]
    return render_template(
        "enroll.html",
        enrollment_id=created.enrollment.enrollment_id,
        qr_png=qr_png_base64(created.enrollment_uri),
        expires_in=created.expires_in,
    )


@blueprint.get("/enrollments/<enrollment_id>/status")
def enrollment_progress(enrollment_id: str) -> Response:
    if _user() is None or enrollment_id not in session.get("enrollments", []):
        abort(404)
    status = enrollment_status(server(), DEMO_RELYING_PARTY.client_id, enrollment_id)
    response = jsonify({"status": status["status"]})
    response.headers["Cache-Control"] = "no-store"
    return response
