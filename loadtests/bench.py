"""In-process benchmark of the hot flows against their pure crypto cost.

    python -m loadtests.bench [--logins 2000] [--out reports] [--profile]

One process, one core: the reference app (SQLite in a temporary directory, the "mia" logger at
WARNING) is driven by a simulated device through `WsgiTransport` (werkzeug's test client, no
socket). A `TimingTransport` sums the time spent inside the server calls only, so the device's own
work (client assertion, PIN-key recovery, authenticator assertion and DPoP signatures) stays
outside the measurement. Flows:

- login: POST /login/challenge + POST /token (authenticator-assertion grant, DPoP-bound token);
- refresh: POST /token (refresh_token grant, rotation);
- api_call: GET /api/me (access token + DPoP proof with `ath` at the resource server).

The crypto floor of each flow is measured in the same run with `reference.core.jose` on pre-made
inputs: the ES256 verifications the server must do (client assertion at /login/challenge; client
assertion, DPoP proof and authenticator assertion at /token; access token and DPoP proof at the
API) plus the ES256 signature of the access token. The ratio server time / crypto floor says how
much the server spends beyond the unavoidable cryptography. Results go to `<out>/bench.json`.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import logging
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from loadtests.bench_plot import plot_bench
from reference import create_app
from reference.config import AppConfig
from reference.core.jose import (
    b64u_decode,
    decode_unverified,
    es256_sign,
    es256_verify,
    public_key_from_jwk,
    sign_jws,
)
from simulator import AppBuild, Device, HttpResponse, PlatformCA, WsgiTransport, pin_camouflage

ISSUER = "http://localhost"
PIN = "24681"
RP_AUTH = "Basic " + base64.b64encode(b"demo-bank-backend:demo-bank-backend-secret").decode()


class TimingTransport:
    """Wraps a transport and sums the wall time spent inside each call, by path.

    With `profiler` set, the profiler runs only while the server handles a request.
    """

    def __init__(self, inner: WsgiTransport, profiler: cProfile.Profile | None = None) -> None:
        self.inner = inner
        self.profiler = profiler
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | bytes | str | None = None,
        json: Any = None,
    ) -> HttpResponse:
        path = urlsplit(url).path
        profiler = self.profiler
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        try:
            return self.inner.request(method, url, headers=headers, data=data, json=json)
        finally:
            self.seconds[path] += time.perf_counter() - started
            if profiler is not None:
                profiler.disable()
            self.calls[path] += 1


@dataclass(frozen=True)
class FlowResult:
    """One flow: server time and crypto floor per operation (µs), and their ratio."""

    iterations: int
    server_us: float
    per_request_us: dict[str, float]
    per_core_per_s: float
    crypto_floor_us: float
    crypto_floor_per_s: float
    ratio: float
    crypto_ops: str
    client_side_us: float
    drift: float


@dataclass
class Inputs:
    """Pre-made signed inputs for the crypto floor (what the server verifies and signs)."""

    verifications: dict[str, tuple[bytes, bytes, ec.EllipticCurvePublicKey]]
    access_token_header: dict[str, Any]
    access_token_claims: dict[str, Any]
    signing_key: ec.EllipticCurvePrivateKey


def _parts(
    token: str, key: ec.EllipticCurvePublicKey
) -> tuple[bytes, bytes, ec.EllipticCurvePublicKey]:
    decoded = decode_unverified(token)
    return decoded.signing_input, decoded.signature, key


def make_inputs(app: Any, device: Device) -> Inputs:
    """Real messages of the flows, signed by the device, plus the server's signing key."""
    ctx = app.extensions["mia"]
    keystore = device.keystore
    client_key = public_key_from_jwk(keystore.public_jwk("client"))
    dpop_key = public_key_from_jwk(keystore.public_jwk("dpop"))
    storage = device.storage
    assert storage.pin_salt is not None and storage.pin_masked_key is not None
    pin_key = pin_camouflage.recover(
        b64u_decode(storage.pin_salt), b64u_decode(storage.pin_masked_key), PIN
    )
    assert device.tokens is not None
    access_token = device.tokens.access_token
    signing = ctx.keyring.signing_key()
    at = decode_unverified(access_token)
    if not es256_verify(at.signing_input, at.signature, signing.public_key):
        raise RuntimeError("the access token does not verify with the active signing key")
    token_url = device.endpoint("token_endpoint")
    assertion = device.authenticator_assertion("x" * 43, PIN)
    inputs = Inputs(
        verifications={
            "client_assertion": _parts(device.client_assertion(), client_key),
            "dpop_token": _parts(device.dpop_proof("POST", token_url), dpop_key),
            "authenticator_assertion": _parts(assertion, pin_key.public_key()),
            "access_token": _parts(access_token, signing.public_key),
            "dpop_api": _parts(
                device.dpop_proof("GET", device.url("/api/me"), access_token=access_token),
                dpop_key,
            ),
        },
        access_token_header={"typ": "at+jwt", "kid": signing.kid},
        access_token_claims=dict(at.claims),
        signing_key=signing.private_key,
    )
    for name, (signing_input, signature, key) in inputs.verifications.items():
        if not es256_verify(signing_input, signature, key):
            raise RuntimeError(f"pre-made input {name} does not verify")
    return inputs


#: The server-side crypto of each flow: verifications by input name, and access-token signatures.
FLOW_CRYPTO: dict[str, tuple[tuple[str, ...], int]] = {
    "login": (
        ("client_assertion", "client_assertion", "dpop_token", "authenticator_assertion"),
        1,
    ),
    "refresh": (("client_assertion", "dpop_token"), 1),
    "api_call": (("access_token", "dpop_api"), 0),
}


def crypto_floor(inputs: Inputs, flow: str, iterations: int) -> float:
    """Seconds per flow for its pure ES256 work (best of 5 batches)."""
    names, signatures = FLOW_CRYPTO[flow]
    checks = [inputs.verifications[name] for name in names]
    header, claims, key = inputs.access_token_header, inputs.access_token_claims, inputs.signing_key

    def once() -> None:
        for signing_input, signature, public_key in checks:
            if not es256_verify(signing_input, signature, public_key):
                raise RuntimeError("verification failed")
        for _ in range(signatures):
            sign_jws(header, claims, key)

    batches = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(iterations):
            once()
        batches.append((time.perf_counter() - started) / iterations)
    return min(batches)


def primitive_costs(inputs: Inputs, iterations: int) -> dict[str, float]:
    """µs of one ES256 verify and one ES256 sign (best of 5 batches)."""
    signing_input, signature, key = inputs.verifications["client_assertion"]
    results = {}
    for name, operation in (
        ("es256_verify_us", lambda: es256_verify(signing_input, signature, key)),
        ("es256_sign_us", lambda: es256_sign(signing_input, inputs.signing_key)),
    ):
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(iterations):
                operation()
            best = min(best, (time.perf_counter() - started) / iterations)
        results[name] = best * 1e6
    return results


def build(tmp: Path) -> tuple[Any, Device, TimingTransport]:
    ca = PlatformCA.load_or_create(tmp / "platform-ca")
    config = AppConfig(
        issuer=ISSUER,
        database_url=f"sqlite:///{tmp / 'mia.db'}",
        policy_file=tmp / "policy.toml",
        data_dir=tmp,
        trusted_roots=(tmp / "platform-ca" / "root.pem",),
    )
    app = create_app(config)
    logging.getLogger("mia").setLevel(logging.WARNING)
    transport = TimingTransport(WsgiTransport(app))
    device = Device(issuer=ISSUER, platform_ca=ca, app=AppBuild.genuine(), transport=transport)
    device.register_app()
    client = app.test_client()
    created = client.post(
        "/rp/enrollments",
        json={"user_id": "bench", "display_name": "Bench User"},
        headers={"Authorization": RP_AUTH},
    )
    if created.status_code != 201:
        raise RuntimeError(f"POST /rp/enrollments answered {created.status_code}")
    device.enroll(qr=str(created.get_json()["enrollment_uri"]), pin=PIN)
    device.login(pin=PIN)
    return app, device, transport


def add_devices(app: Any, ca: PlatformCA, count: int) -> None:
    """Enroll `count` more devices, so per-request cost can be checked against table size."""
    client = app.test_client()
    for index in range(count):
        other = Device(issuer=ISSUER, platform_ca=ca, transport=WsgiTransport(app))
        other.register_app()
        created = client.post(
            "/rp/enrollments",
            json={"user_id": f"user-{index}", "display_name": f"User {index}"},
            headers={"Authorization": RP_AUTH},
        )
        other.enroll(qr=str(created.get_json()["enrollment_uri"]), pin=PIN)
        other.login(pin=PIN)


def measure(
    name: str,
    step: Callable[[], object],
    iterations: int,
    transport: TimingTransport,
    progress: bool,
) -> tuple[float, dict[str, float], float, float]:
    """(server seconds per iteration, µs per request path, wall seconds per iteration, drift).

    Drift is the median server time of the last fifth of the iterations over that of the first
    fifth: about 1.0 when the cost does not grow with the rows a flow leaves behind.
    """
    for _ in range(max(10, iterations // 20)):  # warm-up
        step()
    transport.reset()
    every = max(1, iterations // 5)
    samples: list[float] = []
    started = time.perf_counter()
    for index in range(1, iterations + 1):
        before = transport.total
        step()
        samples.append(transport.total - before)
        if progress and index % every == 0:
            done = transport.total / index * 1e6
            print(f"  {name}: {index}/{iterations} ({done:.0f} µs server time each)", flush=True)
    wall = (time.perf_counter() - started) / iterations
    per_request = {
        path: transport.seconds[path] / transport.calls[path] * 1e6 for path in transport.seconds
    }
    fifth = max(1, iterations // 5)
    drift = statistics.median(samples[-fifth:]) / statistics.median(samples[:fifth])
    return transport.total / iterations, per_request, wall, drift


def describe(names: Sequence[str], signatures: int) -> str:
    verifications = len(names)
    return f"{verifications} ES256 verify ({', '.join(names)}) + {signatures} ES256 sign"


def run(args: argparse.Namespace) -> dict[str, Any]:
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="mia-bench-") as tmp:
        app, device, transport = build(Path(tmp))
        if args.devices:
            print(f"Enrolling {args.devices} more devices first", flush=True)
            add_devices(app, PlatformCA.load_or_create(Path(tmp) / "platform-ca"), args.devices)
        inputs = make_inputs(app, device)
        iterations = {
            "login": args.logins,
            "refresh": args.logins,
            "api_call": args.logins,
        }
        steps: dict[str, Callable[[], object]] = {
            "login": lambda: device.login(pin=PIN),
            "refresh": device.refresh,
            "api_call": lambda: device.call_api("/api/me"),
        }
        transport.profiler = profiler
        flows: dict[str, FlowResult] = {}
        for flow, step in steps.items():
            print(f"Measuring {flow} ({iterations[flow]} iterations)", flush=True)
            server, per_request, wall, drift = measure(
                flow, step, iterations[flow], transport, progress=True
            )
            floor = crypto_floor(inputs, flow, max(50, iterations[flow] // 4))
            names, signatures = FLOW_CRYPTO[flow]
            flows[flow] = FlowResult(
                iterations=iterations[flow],
                server_us=round(server * 1e6, 1),
                per_request_us={k: round(v, 1) for k, v in per_request.items()},
                per_core_per_s=round(1 / server, 1),
                crypto_floor_us=round(floor * 1e6, 1),
                crypto_floor_per_s=round(1 / floor, 1),
                ratio=round(server / floor, 2),
                crypto_ops=describe(names, signatures),
                client_side_us=round((wall - server) * 1e6, 1),
                drift=round(drift, 2),
            )
        primitives = primitive_costs(inputs, max(200, args.logins // 2))
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.platform(),
        "logins": args.logins,
        "extra_devices": args.devices,
        "primitives": {k: round(v, 1) for k, v in primitives.items()},
        "flows": {name: asdict(flow) for name, flow in flows.items()},
    }
    if profiler is not None:
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        stats.sort_stats("cumulative").print_stats(args.profile_top)
        buffer.write("\n--- by own time ---\n")
        stats.sort_stats("tottime").print_stats(args.profile_top)
        profile_path = args.out / "bench-profile.txt"
        profile_path.write_text(buffer.getvalue())
        result["profile"] = str(profile_path)
    return result


def report(result: dict[str, Any]) -> str:
    primitives = result["primitives"]
    lines = [
        f"ES256 verify {primitives['es256_verify_us']:.0f} µs, "
        f"sign {primitives['es256_sign_us']:.0f} µs "
        f"(Python {result['python']}, {result['machine']})",
        "",
        f"{'flow':<9} {'server µs':>10} {'per core/s':>11} {'floor µs':>9} "
        f"{'floor/s':>9} {'ratio':>6} {'drift':>6}  requests (µs each)",
    ]
    for name, flow in result["flows"].items():
        requests = ", ".join(f"{path} {us:.0f}" for path, us in flow["per_request_us"].items())
        lines.append(
            f"{name:<9} {flow['server_us']:>10.0f} {flow['per_core_per_s']:>11.0f} "
            f"{flow['crypto_floor_us']:>9.0f} {flow['crypto_floor_per_s']:>9.0f} "
            f"{flow['ratio']:>6.2f} {flow['drift']:>6.2f}  {requests}"
        )
    lines.append("")
    for name, flow in result["flows"].items():
        lines.append(f"{name}: crypto floor = {flow['crypto_ops']}")
    login = result["flows"]["login"]
    lines.append("")
    lines.append(
        f"PIN login: {login['per_core_per_s']:.0f} logins/s per core "
        f"(crypto floor {login['crypto_floor_us']:.0f} µs = "
        f"{login['crypto_floor_per_s']:.0f} logins/s; ratio {login['ratio']:.2f}); "
        f"target ≥ 1000 logins/s per core"
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--logins", type=int, default=2000, help="iterations per flow")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="where bench.json goes")
    parser.add_argument(
        "--devices", type=int, default=0, help="enroll this many extra devices first"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the server calls; top functions"
    )
    parser.add_argument("--profile-top", type=int, default=30, help="functions listed")
    args = parser.parse_args(argv)
    if args.logins < 1:
        parser.error("--logins must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = run(args)
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    print()
    print(report(result))
    path = args.out / "bench.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    picture = plot_bench(result, args.out / "bench.png")
    print(
        f"\nResults in {path}, plot in {picture}"
        + (f", profile in {result['profile']}" if "profile" in result else "")
    )
    if "profile" in result:
        print()
        print("\n".join(Path(result["profile"]).read_text().splitlines()[: args.profile_top + 12]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
