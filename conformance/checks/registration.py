"""Spec chapter 2: app registration with platform attestation."""

from __future__ import annotations

import json
import re
import secrets

from conformance.agent import Attester
from conformance.context import Context
from conformance.expectations import expect_device_error, expect_error, expect_status
from conformance.jws_crafting import now, resign_unsigned
from conformance.registry import check
from conformance.results import CheckFailed
from reference.core.jose import b64u_decode, b64u_encode
from simulator.platform import AppBuild

B64U = re.compile(r"^[A-Za-z0-9_-]+$")


def _b64u_len(value: object, nbytes: int) -> bool:
    return isinstance(value, str) and bool(B64U.match(value)) and len(b64u_decode(value)) == nbytes


@check(
    "REG-HAPPY",
    section="2.6",
    title="A genuine app on a genuine device registers and gets a client_id",
)
def register_happy(ctx: Context) -> None:
    device = ctx.new_device()
    client_id = device.register_app()
    if not isinstance(client_id, str) or not client_id:
        raise CheckFailed(f"simulator registration returned {client_id!r}")
    agent = ctx.new_agent()
    resp = agent.post(agent.endpoint("mia_registration_nonce_endpoint", "/register/nonce"))
    nonce_body = expect_status(resp, 201, "POST /register/nonce")
    problems = []
    if not _b64u_len(nonce_body.get("nonce"), 32):
        problems.append("nonce must be b64u of 32 bytes")
    if not isinstance(nonce_body.get("expires_in"), int):
        problems.append("nonce answer lacks integer expires_in")
    data = expect_status(
        agent.post_register(agent.attestation(nonce_body["nonce"])), 201, "POST /register"
    )
    if not _b64u_len(data.get("client_id"), 16):
        problems.append(f"client_id must be b64u of 16 bytes, got {data.get('client_id')!r}")
    if data.get("token_endpoint_auth_method") != "private_key_jwt":
        problems.append("token_endpoint_auth_method must be private_key_jwt")
    if data.get("app_id") != ctx.app.app_id or data.get("app_version") != ctx.app.version:
        problems.append("app_id/app_version do not echo the attested app")
    if not isinstance(data.get("client_id_issued_at"), int):
        problems.append("client_id_issued_at must be an integer")
    if data.get("client_id") == client_id:
        problems.append("two registrations got the same client_id")
    if problems:
        raise CheckFailed("; ".join(problems))


@check("REG-NONCE-REUSE", section="2.3", title="A registration nonce is accepted only once")
def nonce_reuse(ctx: Context) -> None:
    first = ctx.new_agent()
    nonce = first.nonce()
    expect_status(first.post_register(first.attestation(nonce)), 201, "first registration")
    second = ctx.new_agent()
    expect_error(
        second.post_register(second.attestation(nonce)),
        "invalid_nonce",
        what="second registration with the same nonce",
    )


@check("REG-NONCE-UNKNOWN", section="2.3", title="A nonce the server never issued is refused")
def nonce_unknown(ctx: Context) -> None:
    agent = ctx.new_agent()
    fake = b64u_encode(secrets.token_bytes(32))
    expect_error(
        agent.post_register(agent.attestation(fake)),
        "invalid_nonce",
        what="registration with an unknown nonce",
    )


@check("REG-NONCE-EXPIRED", section="2.3", title="An expired registration nonce is refused")
def nonce_expired(ctx: Context) -> None:
    agent = ctx.new_agent()
    resp = agent.post(agent.endpoint("mia_registration_nonce_endpoint", "/register/nonce"))
    body = expect_status(resp, 201, "POST /register/nonce")
    ctx.wait_for_expiry(body.get("expires_in"), "the registration nonce")
    # The attestation itself is fresh: only the nonce has expired.
    expect_error(
        agent.post_register(agent.attestation(body["nonce"])),
        "invalid_nonce",
        what="registration with an expired nonce",
    )


@check(
    "REG-APP-TAMPERED",
    section="2.5",
    title="A repackaged build (other signing certificate) is refused: app_integrity_failed",
)
def tampered_app(ctx: Context) -> None:
    device = ctx.new_device(app=AppBuild.tampered(version=ctx.app.version, app_id=ctx.app.app_id))
    expect_device_error(device.register_app, "app_integrity_failed", "tampered build")


@check(
    "REG-DEVICE-ROOTED",
    section="2.5",
    title="A rooted device (basic integrity only) is refused: device_integrity_failed",
)
def rooted_device(ctx: Context) -> None:
    device = ctx.new_device(rooted=True)
    expect_device_error(device.register_app, "device_integrity_failed", "rooted device")


@check(
    "REG-DEVICE-EMULATOR",
    section="2.5",
    title="An emulator (empty verdict) is refused: device_integrity_failed",
)
def emulator(ctx: Context) -> None:
    device = ctx.new_device(emulator=True)
    expect_device_error(device.register_app, "device_integrity_failed", "emulator")


def _older(version: str) -> str:
    """A version just below `version` ("12" -> "11", "16.0" -> "15.9")."""
    parts = [int(p) for p in version.split(".")]
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] > 0:
            parts[i] -= 1
            for j in range(i + 1, len(parts)):
                parts[j] = 9
            return ".".join(str(p) for p in parts)
    raise ValueError(f"no version below {version}")


@check(
    "REG-OS-OUTDATED",
    section="2.5",
    title="An OS older than the policy minimum is refused: os_update_required",
)
def os_outdated(ctx: Context) -> None:
    os_name, minimum = next(iter(ctx.config.min_os.items()))
    device = ctx.new_device(os_name=os_name, os_version=_older(minimum))
    expect_device_error(
        device.register_app,
        "os_update_required",
        f"{os_name} {_older(minimum)} (minimum {minimum})",
    )


@check(
    "REG-VERSION-DISABLED",
    section="2.5",
    title="A disabled app version cannot register: app_update_required",
)
def version_disabled(ctx: Context) -> None:
    app = AppBuild.genuine(version=ctx.config.version_disabled, app_id=ctx.app.app_id)
    device = ctx.new_device(app=app)
    expect_device_error(
        device.register_app, "app_update_required", f"version {ctx.config.version_disabled}"
    )


@check(
    "REG-VERSION-LOGIN-ONLY",
    section="2.5",
    title="A login-only app version cannot register: app_update_required",
)
def version_login_only(ctx: Context) -> None:
    app = AppBuild.genuine(version=ctx.config.version_login_only, app_id=ctx.app.app_id)
    device = ctx.new_device(app=app)
    expect_device_error(
        device.register_app, "app_update_required", f"version {ctx.config.version_login_only}"
    )


@check(
    "REG-ATTESTATION-UNTRUSTED-CA",
    section="2.4",
    title="An attestation chaining to an untrusted CA is refused: invalid_attestation",
)
def untrusted_ca(ctx: Context) -> None:
    stranger = Attester.untrusted()
    device = ctx.new_device(platform_ca=stranger.ca)
    expect_device_error(device.register_app, "invalid_attestation", "attestation by another CA")


def _change_payload_byte(token: str) -> str:
    """Change one byte of the signed payload: the last digit of os_version (e.g. 14 -> 15)."""
    head, body, sig = token.split(".")
    payload = bytearray(b64u_decode(body))
    match = re.search(rb'"os_version":"[0-9.]*([0-9])"', bytes(payload))
    if match is None:
        raise CheckFailed("could not find os_version in the attestation payload")
    index = match.start(1)
    payload[index] = ord("0") + (payload[index] - ord("0") + 1) % 10
    json.loads(bytes(payload))  # still valid JSON: only the signature can tell
    return f"{head}.{b64u_encode(bytes(payload))}.{sig}"


@check(
    "REG-ATTESTATION-PAYLOAD-BYTE",
    section="2.4",
    title="An attestation with one changed payload byte is refused: invalid_attestation",
)
def attestation_changed_byte(ctx: Context) -> None:
    agent = ctx.new_agent()
    token = _change_payload_byte(agent.attestation(agent.nonce()))
    expect_error(
        agent.post_register(token),
        "invalid_attestation",
        what="attestation with a changed os_version byte",
    )


@check(
    "REG-ATTESTATION-TYP",
    section="2.4",
    title="An attestation without typ platform-attestation+jwt is refused",
)
def attestation_typ(ctx: Context) -> None:
    agent = ctx.new_agent()
    token = agent.attestation(agent.nonce(), header={"typ": "JWT"})
    expect_error(agent.post_register(token), "invalid_attestation", what="attestation typ JWT")


@check("REG-ATTESTATION-EXPIRED", section="2.4", title="An expired attestation is refused")
def attestation_expired(ctx: Context) -> None:
    agent = ctx.new_agent()
    t = now()
    token = agent.attestation(agent.nonce(), claims={"iat": t - 900, "exp": t - 600})
    expect_error(
        agent.post_register(token),
        "invalid_attestation",
        what="attestation that expired 10 minutes ago",
    )


@check(
    "REG-ATTESTATION-ALG-NONE",
    section="1.3",
    title="An unsigned attestation (alg none) is refused: invalid_attestation",
)
def attestation_alg_none(ctx: Context) -> None:
    agent = ctx.new_agent()
    token = resign_unsigned(agent.attestation(agent.nonce()), {"alg": "none"})
    expect_error(agent.post_register(token), "invalid_attestation", what="attestation alg none")
