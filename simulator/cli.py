"""Command line for the simulated app: `python -m simulator --issuer URL COMMAND ...`.

State lives in a directory like a phone keeps it: `storage.json` (app storage, what a backup
copies), `keystore.json` (the simulated secure hardware, surviving restarts) and `session.json`
(the access token the running app holds in memory between commands). The platform attestation CA
lives in its own directory (`--platform-ca`, default `<state>/platform-ca`); configure the server
to trust its `root.pem`.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from simulator.device import Device, TokenSet, error_from_response
from simulator.errors import ServerError, SimulatorError
from simulator.keystore import Keystore
from simulator.platform import AppBuild, PlatformCA
from simulator.screens import Screen, describe
from simulator.storage import AppStorage
from simulator.transport import HttpTransport

STORAGE_FILE = "storage.json"
KEYSTORE_FILE = "keystore.json"
SESSION_FILE = "session.json"
DEFAULT_STATE = "mia-device"
#: The demo relying party's secret from the reference server's default policy (demo only).
DEMO_RP_SECRET = "demo-bank-backend-secret"  # noqa: S105


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Simulated MIA mobile app: register, enroll by QR, log in with a PIN.",
    )
    parser.add_argument(
        "--issuer", default=os.environ.get("MIA_ISSUER"), help="server base URL (MIA_ISSUER)"
    )
    parser.add_argument(
        "--state",
        default=os.environ.get("MIA_DEVICE_STATE", DEFAULT_STATE),
        help=f"directory with the phone's state (default ./{DEFAULT_STATE})",
    )
    parser.add_argument(
        "--platform-ca",
        default=os.environ.get("MIA_PLATFORM_CA"),
        help="directory with root.pem and root-key.pem (default <state>/platform-ca)",
    )
    parser.add_argument("--os-name", default="android")
    parser.add_argument("--os-version", default="14")
    parser.add_argument("--app-version", default="2.0.0")
    parser.add_argument("--tampered", action="store_true", help="run a repackaged app build")
    parser.add_argument("--rooted", action="store_true", help="the phone is rooted")
    parser.add_argument("--emulator", action="store_true", help="the phone is an emulator")
    parser.add_argument("--timeout", type=float, default=10.0, help="HTTP timeout in seconds")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("register", help="register this app installation (platform attestation)")
    enroll = commands.add_parser("enroll", help="scan an enrollment QR code and choose a PIN")
    enroll.add_argument("--qr", required=True, help="PNG file of the QR code, or the mia:// URI")
    enroll.add_argument("--pin", required=True)
    login = commands.add_parser("login", help="log in with the PIN")
    login.add_argument("--pin", required=True)
    commands.add_parser("refresh", help="rotate the refresh token")
    api = commands.add_parser("api", help="call the protected API, e.g. /api/me")
    api.add_argument("path")
    commands.add_parser("logout", help="revoke the refresh token")
    commands.add_parser("show", help="show the app storage and keystore aliases")
    demo = commands.add_parser(
        "demo", help="as a relying party create an enrollment, then register, enroll and log in"
    )
    demo.add_argument("--rp-id", default="demo-bank-backend")
    demo.add_argument(
        "--rp-secret",
        default=os.environ.get("MIA_RP_SECRET", DEMO_RP_SECRET),
        help="relying-party secret (MIA_RP_SECRET; default: the demo policy's secret)",
    )
    demo.add_argument("--user-id", default="alice")
    demo.add_argument("--display-name", default="Alice Doe")
    demo.add_argument("--pin", default="24681")
    return parser


class _App:
    """The CLI's view of one phone: device plus where its state is kept."""

    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.out = out
        self.state = Path(args.state)
        self.state.mkdir(parents=True, exist_ok=True)
        ca_dir = Path(args.platform_ca) if args.platform_ca else self.state / "platform-ca"
        self.platform_ca = PlatformCA.load_or_create(ca_dir)
        self.ca_dir = ca_dir
        storage = AppStorage.load(self.state / STORAGE_FILE)
        issuer = args.issuer or storage.issuer
        if not issuer:
            raise SystemExit("error: --issuer is required (or MIA_ISSUER, or a saved state)")
        app = (
            AppBuild.tampered(version=args.app_version)
            if args.tampered
            else AppBuild.genuine(version=args.app_version)
        )
        self.device = Device(
            issuer=issuer,
            platform_ca=self.platform_ca,
            app=app,
            os_name=args.os_name,
            os_version=args.os_version,
            rooted=args.rooted,
            emulator=args.emulator,
            transport=HttpTransport(timeout=args.timeout),
            storage=storage,
            keystore=Keystore.load(self.state / KEYSTORE_FILE),
        )
        self.device.on_step = self.say
        session = self.state / SESSION_FILE
        if session.exists():
            data = json.loads(session.read_text(encoding="utf-8"))
            self.device.tokens = TokenSet(**data)

    def say(self, text: str) -> None:
        print(f"  - {text}", file=self.out)

    def save(self) -> None:
        self.device.storage.save(self.state / STORAGE_FILE)
        self.device.keystore.save(self.state / KEYSTORE_FILE)
        session = self.state / SESSION_FILE
        if self.device.tokens is None:
            session.unlink(missing_ok=True)
        else:
            fd = os.open(session, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.device.tokens.__dict__, handle)

    def screen(self, screen: Screen, detail: str | None = None) -> None:
        print(f"Screen: {describe(screen, detail)}", file=self.out)


def _run(command: str, args: argparse.Namespace, app: _App) -> None:
    device = app.device
    out = app.out
    if command == "register":
        print(f"Registering the app with {device.issuer}", file=out)
        print(f"  (the server must trust the platform root {app.ca_dir / 'root.pem'})", file=out)
        client_id = device.register_app()
        print(f"Registered. client_id = {client_id}", file=out)
    elif command == "enroll":
        print("Enrolling this phone", file=out)
        qr_input: str | Path = args.qr if args.qr.startswith("mia:") else Path(args.qr)
        authenticator_id = device.enroll(qr=qr_input, pin=args.pin)
        name = device.storage.display_name or device.storage.user_id or "the user"
        print(f"Enrolled for {name}. authenticator_id = {authenticator_id}", file=out)
    elif command == "login":
        print("Logging in with the PIN", file=out)
        tokens = device.login(pin=args.pin)
        print(
            f"Logged in. scope = {tokens.scope}; access token expires in {tokens.expires_in} s",
            file=out,
        )
    elif command == "refresh":
        tokens = device.refresh()
        print(f"Tokens refreshed; access token expires in {tokens.expires_in} s", file=out)
    elif command == "api":
        response = device.call_api(args.path)
        print(f"{args.path} answered {response.status}:", file=out)
        print(json.dumps(response.json, indent=2), file=out)
    elif command == "logout":
        device.logout()
        print("Logged out.", file=out)
    elif command == "show":
        _show(app)
    elif command == "demo":
        _demo(args, app)
    app.screen(device.screen)


def _show(app: _App) -> None:
    device, out = app.device, app.out
    storage = device.storage
    print(f"Issuer: {device.issuer}", file=out)
    print(
        f"Registered: {'yes, client ' + storage.client_id if storage.client_id else 'no'}", file=out
    )
    enrolled = storage.enrolled
    print(
        f"Enrolled: {'yes, authenticator ' + str(storage.authenticator_id) if enrolled else 'no'}"
        + (f" for {storage.display_name or storage.user_id}" if enrolled else ""),
        file=out,
    )
    print(f"Logged in: {'yes' if device.tokens else 'no'}", file=out)
    print(
        f"Keystore (secure hardware) key aliases: {', '.join(device.keystore.aliases()) or '-'}",
        file=out,
    )
    print("App storage (what a backup of the phone contains):", file=out)
    print(storage.to_json(), file=out)


def _basic(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: form-urlencode id and secret, then HTTP Basic (RFC 7617)."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _demo(args: argparse.Namespace, app: _App) -> None:
    device, out = app.device, app.out
    if not args.rp_secret:
        raise SystemExit("error: demo needs --rp-secret (or MIA_RP_SECRET)")
    print(f"Relying party {args.rp_id} creates an enrollment for {args.user_id}", file=out)
    response = device.transport.request(
        "POST",
        device.endpoint("mia_enrollment_creation_endpoint"),
        headers={
            "Authorization": "Basic "
            + base64.b64encode(f"{args.rp_id}:{args.rp_secret}".encode()).decode("ascii")
        },
        json={"user_id": args.user_id, "display_name": args.display_name},
    )
    if not response.ok:
        raise error_from_response(response)
    created: dict[str, Any] = response.json()
    png = base64.b64decode(created["qr_png"])
    (app.state / "enrollment-qr.png").write_bytes(png)
    print(f"  - QR code saved to {app.state / 'enrollment-qr.png'}", file=out)
    print("Registering the app", file=out)
    device.register_app()
    print("Scanning the QR code and choosing a PIN", file=out)
    device.enroll(qr=png, pin=args.pin)
    print("Logging in", file=out)
    device.login(pin=args.pin)
    me = device.call_api("/api/me")
    print(json.dumps(me.json, indent=2), file=out)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        app = _App(args, stream)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        _run(args.command, args, app)
    except ServerError as error:
        app.screen(error.screen)
        detail = f"error {error.code}, HTTP {error.status}"
        if error.description:
            detail += f": {error.description}"
        if error.attempts_remaining is not None:
            detail += f" ({error.attempts_remaining} attempts remaining)"
        print(f"Failed: {detail}", file=stream)
        return 1
    except SimulatorError as error:
        app.screen(error.screen)
        print(f"Failed: {error.code}: {error}", file=stream)
        return 1
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        app.save()
    return 0
