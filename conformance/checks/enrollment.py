"""Spec chapter 4: enrollment by QR code."""

from __future__ import annotations

import base64
import secrets
import urllib.parse

from conformance.agent import Agent
from conformance.context import Context
from conformance.expectations import expect_error, expect_status
from conformance.registry import check
from conformance.relying_party import enrollment_code
from conformance.results import CheckFailed
from reference.core.jose import b64u_encode


@check(
    "ENR-CREATE",
    section="4.2",
    title="The relying party creates an enrollment whose QR image carries the enrollment URI",
)
def create(ctx: Context) -> None:
    from simulator import qr

    data = ctx.new_enrollment()
    problems = []
    uri = data["enrollment_uri"]
    parts = urllib.parse.urlsplit(uri)
    query = urllib.parse.parse_qs(parts.query)
    if parts.scheme != "mia" or parts.netloc != "enroll":
        problems.append(f"enrollment_uri must start mia://enroll, got {uri!r}")
    if query.get("issuer") != [ctx.issuer]:
        problems.append(f"enrollment_uri issuer is {query.get('issuer')!r}")
    if len(query.get("code", [""])[0]) < 43:
        problems.append("enrollment code must carry 32 random bytes (43 b64u characters)")
    if not isinstance(data.get("expires_in"), int):
        problems.append("expires_in must be an integer")
    if not data["status_url"].startswith(ctx.issuer + "/rp/enrollments/"):
        problems.append(f"status_url is {data['status_url']!r}")
    if not isinstance(data.get("qr_svg"), str) or "<svg" not in data["qr_svg"]:
        problems.append("qr_svg must be an SVG document")
    png = data.get("qr_png")
    if not isinstance(png, str):
        problems.append("qr_png is missing")
    else:
        decoded = qr.decode(base64.b64decode(png))
        if decoded != uri:
            problems.append(f"qr_png decodes to {decoded!r}, not the enrollment_uri")
    if problems:
        raise CheckFailed("; ".join(problems))


@check(
    "ENR-STATUS",
    section="4.5",
    title="A device scans the QR image and enrolls; the RP status goes pending -> completed",
)
def status_pending_completed(ctx: Context) -> None:
    device = ctx.new_device()
    device.register_app()
    enrollment = ctx.new_enrollment()
    status_url = enrollment["status_url"]
    pending = expect_status(ctx.rp.status(status_url), 200, "GET status_url before scanning")
    if pending.get("status") != "pending" or pending.get("completed_at") is not None:
        raise CheckFailed(f"before scanning the status must be pending, got {pending!r}")
    if pending.get("user_id") != enrollment["user_id"]:
        raise CheckFailed(f"status user_id is {pending.get('user_id')!r}")
    device.enroll(qr=base64.b64decode(enrollment["qr_png"]), pin=ctx.valid_pin)
    done = expect_status(ctx.rp.status(status_url), 200, "GET status_url after enrollment")
    if done.get("status") != "completed" or not isinstance(done.get("completed_at"), int):
        raise CheckFailed(f"after enrollment the status must be completed, got {done!r}")


@check(
    "ENR-PIN-POLICY",
    section="4.1",
    title="The PIN policy in the enrollment begin response is the one published in discovery",
)
def pin_policy_published(ctx: Context) -> None:
    published = ctx.metadata.get("mia_pin_policy")
    owner = ctx.registered_agent()
    code = enrollment_code(ctx.new_enrollment()["enrollment_uri"])
    body = expect_status(owner.begin(code), 200, "POST /enroll/begin")
    if not isinstance(published, dict) or body.get("pin_policy") != published:
        raise CheckFailed(
            f"enrollment begin sends {body.get('pin_policy')!r}, discovery says {published!r}"
        )
    for member in (
        "length",
        "max_failed_attempts",
        "disallow_sequences",
        "disallow_repeats",
        "blocklist",
    ):
        if member not in published:
            raise CheckFailed(f"the PIN policy lacks {member}")


@check(
    "ENR-CODE-REUSE",
    section="4.3",
    title="An enrollment code is accepted only once: invalid_enrollment_code",
)
def code_reuse(ctx: Context) -> None:
    code = enrollment_code(ctx.new_enrollment()["enrollment_uri"])
    first, second = ctx.registered_agent(), ctx.registered_agent()
    expect_status(first.begin(code), 200, "first scan of the code")
    expect_error(second.begin(code), "invalid_enrollment_code", what="second scan of the code")


@check(
    "ENR-CODE-UNKNOWN",
    section="4.3",
    title="An enrollment code the server never issued is refused: invalid_enrollment_code",
)
def code_unknown(ctx: Context) -> None:
    agent = ctx.registered_agent()
    expect_error(
        agent.begin(b64u_encode(secrets.token_bytes(32))),
        "invalid_enrollment_code",
        what="scan of an unknown code",
    )


@check(
    "ENR-CODE-EXPIRED",
    section="4.3",
    title="An expired enrollment code is refused: invalid_enrollment_code",
)
def code_expired(ctx: Context) -> None:
    enrollment = ctx.new_enrollment()
    agent = ctx.registered_agent()
    ctx.wait_for_expiry(enrollment.get("expires_in"), "the enrollment code")
    expect_error(
        agent.begin(enrollment_code(enrollment["enrollment_uri"])),
        "invalid_enrollment_code",
        what="scan of an expired code",
    )


def _session(ctx: Context) -> tuple[str, Agent]:
    owner = ctx.registered_agent()
    code = enrollment_code(ctx.new_enrollment()["enrollment_uri"])
    body = expect_status(owner.begin(code), 200, "POST /enroll/begin")
    session = body.get("enrollment_session")
    if not isinstance(session, str):
        raise CheckFailed("POST /enroll/begin: no enrollment_session")
    return session, owner


@check(
    "ENR-SESSION-OTHER-CLIENT",
    section="4.4",
    title="An enrollment session cannot be completed by another client",
)
def session_other_client(ctx: Context) -> None:
    session, _ = _session(ctx)
    thief = ctx.registered_agent()
    expect_error(
        thief.complete(session),
        "invalid_enrollment_code",
        what="completion by a client that did not scan the code",
    )


@check("ENR-SESSION-REUSE", section="4.4", title="An enrollment session completes only once")
def session_reuse(ctx: Context) -> None:
    owner = ctx.registered_agent()
    code = enrollment_code(ctx.new_enrollment()["enrollment_uri"])
    session = expect_status(owner.begin(code), 200, "POST /enroll/begin")["enrollment_session"]
    expect_status(owner.complete(session), 201, "first completion")
    expect_error(owner.complete(session), "invalid_enrollment_code", what="second completion")
