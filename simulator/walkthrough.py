"""`make run`: start the reference server on SQLite, walk a simulated phone through every flow,
run the conformance suite against the server, print the summary, stop the server.

Exit status 0 only when every flow worked and the conformance summary has no failure.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

from reference.server_process import free_port, server_process
from simulator.device import Device
from simulator.errors import ServerError
from simulator.platform import AppBuild, PlatformCA
from simulator.transport import HttpTransport

PIN = "27182"

SHORT_LIFETIMES = {
    "registration_nonce": 2,
    "enrollment_code": 2,
    "login_challenge": 2,
    "access_token": 2,
}
EXPIRY_CHECKS = (
    "REG-NONCE-EXPIRED",
    "ENR-CODE-EXPIRED",
    "LOGIN-CHALLENGE-EXPIRED",
    "API-TOKEN-EXPIRED",
)
WRONG_PIN = "31415"


def _say(step: str, detail: str = "") -> None:
    print(f"  \u2713 {step}" + (f": {detail}" if detail else ""), flush=True)


@contextmanager
def running_server(
    data_dir: Path, port: int, ca_root: Path, lifetimes: Mapping[str, int] | None = None
) -> Iterator[str]:
    """Run `python -m reference serve` on SQLite in `data_dir` until the block ends."""
    issuer = f"http://127.0.0.1:{port}"
    settings = {
        "MIA_DATA_DIR": str(data_dir),
        "MIA_ISSUER": issuer,
        "MIA_TRUSTED_ROOTS": str(ca_root),
        **{f"MIA_LIFETIME_{name.upper()}": str(value) for name, value in (lifetimes or {}).items()},
    }
    log_path = data_dir / "server.log"
    with log_path.open("w") as log, server_process(port, settings, log):
        print(f"Reference server on {issuer} (SQLite in {data_dir}, log {log_path})")
        yield issuer


def web_user_adds_phone(
    issuer: str, username: str, password: str
) -> tuple[bytes, Callable[[], str]]:
    """The demo web site: sign in, press "Add your phone", get the QR image the page shows."""
    browser = requests.Session()
    page = browser.get(f"{issuer}/demo/login", timeout=10).text
    csrf = _csrf(page)
    response = browser.post(
        f"{issuer}/demo/login",
        data={"csrf": csrf, "username": username, "password": password},
        timeout=10,
    )
    if "Add your phone" not in response.text:
        raise RuntimeError("demo sign-in failed")
    page = browser.post(
        f"{issuer}/demo/enrollments", data={"csrf": _csrf(response.text)}, timeout=10
    ).text
    png = re.search(r'src="data:image/png;base64,([^"]+)"', page)
    status = re.search(r'fetch\("([^"]+/status)"\)', page)
    if png is None or status is None:
        raise RuntimeError("the enrollment page shows no QR code")
    status_url = issuer + status.group(1)

    def poll() -> str:
        state: str = browser.get(status_url, timeout=10).json()["status"]
        return state

    return base64.b64decode(png.group(1)), poll


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    if match is None:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def walk_flows(issuer: str, ca: PlatformCA) -> None:
    print("\nA phone goes through every flow:")
    phone = Device(issuer, platform_ca=ca, app=AppBuild.genuine(), transport=HttpTransport())
    client_id = phone.register_app()
    _say("app registered with platform attestation", f"client_id {client_id}")

    for label, device in (
        ("tampered build", Device(issuer, platform_ca=ca, app=AppBuild.tampered())),
        ("rooted phone", Device(issuer, platform_ca=ca, rooted=True)),
        ("old Android", Device(issuer, platform_ca=ca, os_version="9")),
        ("old app version", Device(issuer, platform_ca=ca, app=AppBuild.genuine(version="1.0.0"))),
    ):
        try:
            device.register_app()
        except ServerError as error:
            _say(f"{label} refused", error.code)
        else:
            raise RuntimeError(f"a {label} was allowed to register")

    qr_png, enrollment_status = web_user_adds_phone(issuer, "alice", "alice-password")
    _say("alice signed in on the web site and pressed 'Add your phone'", "QR code shown")
    authenticator_id = phone.enroll(qr=qr_png, pin=PIN)
    _say("phone scanned the QR image and registered a PIN", f"authenticator {authenticator_id}")
    state = enrollment_status()
    if state != "completed":
        raise RuntimeError(f"the web page still says {state!r}")
    _say("web page learned that enrollment finished", state)

    try:
        phone.login(pin=WRONG_PIN)
    except ServerError as error:
        _say(
            "wrong PIN refused",
            f"{error.code}, {error.extra.get('attempts_remaining')} attempts left",
        )
    tokens = phone.login(pin=PIN)
    _say("logged in with PIN", f"DPoP-bound access token for {tokens.expires_in} s")
    me = phone.call_api("/api/me")
    _say("called the protected API", json.dumps(me.json))
    phone.refresh()
    _say("refresh token rotated")
    accounts = phone.call_api("/api/accounts")
    _say("called the API with the new token", f"{len(accounts.json['accounts'])} accounts")
    phone.logout()
    _say("logged out", "refresh token family revoked")


def run_conformance(issuer: str, ca_dir: Path, report_dir: Path, only: Sequence[str] = ()) -> int:
    from conformance.cli import main as conformance_main

    print(f"\nConformance suite against {issuer}:")
    config = {
        "target": issuer,
        "platform_ca": {
            "cert": str((ca_dir / "root.pem").resolve()),
            "key": str((ca_dir / "root-key.pem").resolve()),
        },
    }
    config_path = report_dir / "conformance-config.json"
    report_dir.mkdir(parents=True, exist_ok=True)
    config_path.write_text(json.dumps(config, indent=2))
    arguments = ["--target", issuer, "--config", str(config_path), "--report-dir", str(report_dir)]
    return conformance_main(arguments + (["--only", *only] if only else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, default=Path("var/run"))
    parser.add_argument("--report-dir", type=Path, default=Path("reports"))
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--skip-conformance", action="store_true")
    args = parser.parse_args(argv)

    shutil.rmtree(args.data_dir, ignore_errors=True)
    args.data_dir.mkdir(parents=True)
    ca_dir = args.data_dir / "platform-ca"
    ca = PlatformCA.load_or_create(ca_dir)
    with running_server(args.data_dir, args.port or free_port(), ca_dir / "root.pem") as issuer:
        try:
            walk_flows(issuer, ca)
        except (ServerError, RuntimeError, requests.RequestException) as error:
            print(f"\nFLOW FAILED: {error}", file=sys.stderr)
            return 1
        if args.skip_conformance:
            return 0
        status = run_conformance(issuer, ca_dir, args.report_dir)
    # The expiry checks wait for things to expire, so they run against a second server whose
    # nonces, codes, challenges and access tokens live two seconds.
    short_lived = args.data_dir / "short-lived"
    short_lived.mkdir()
    port = free_port()
    with running_server(short_lived, port, ca_dir / "root.pem", SHORT_LIFETIMES) as issuer:
        expiry_reports = args.report_dir / "expiry"
        expiry_status = run_conformance(issuer, ca_dir, expiry_reports, EXPIRY_CHECKS)
    print(
        f"\nReports: {args.report_dir / 'conformance.json'} and "
        f"{args.report_dir / 'conformance.html'}; expiry checks in {expiry_reports}"
    )
    return status or expiry_status


if __name__ == "__main__":
    sys.exit(main())
