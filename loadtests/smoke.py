"""Headless load smoke for CI: server + Locust + gates + plot.

    python -m loadtests.smoke [--out reports/load] [--users 10] [--spawn-rate 5] [--run-time 20s]
                              [--p95-ms 500] [--max-failure-ratio 0] [--host URL --ca-dir DIR]

Without `--host` it starts the reference server itself (`python -m reference serve` on a free
port, a temporary MIA_DATA_DIR, a simulated platform CA created there and trusted by the server),
runs `loadtests/locustfile.py` headless against it, stops the server, reads Locust's CSV files and
applies the gates: failure ratio, aggregated p95 latency, a minimum number of requests and no
exceptions in the simulated devices. It writes `load_stats.csv`, `load_stats_history.csv`,
`load.html`, `load.png`, `server.log`, `locust.log` and `summary.json` to the output directory,
prints a table and PASS/FAIL per gate, and exits 0 only if every gate passes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from reference.server_process import free_port, server_process

HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "locustfile.py"
AGGREGATED = "Aggregated"


@dataclass(frozen=True)
class EndpointStats:
    """One row of Locust's `*_stats.csv`."""

    method: str
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    detail: str


@contextmanager
def reference_server(data_dir: Path, log: IO[bytes]) -> Iterator[tuple[str, Path]]:
    """Run `python -m reference serve` on a free port; yields (base URL, platform CA dir)."""
    from simulator import PlatformCA  # imported here so `--help` stays fast

    ca_dir = data_dir / "platform-ca"
    PlatformCA.load_or_create(ca_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = {
        "MIA_DATA_DIR": str(data_dir),
        "MIA_TRUSTED_ROOTS": str(ca_dir / "root.pem"),
        "MIA_ISSUER": url,
    }
    with server_process(port, settings, log):
        yield url, ca_dir


def run_locust(args: argparse.Namespace, host: str, ca_dir: Path, out: Path) -> int:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        args.run_time,
        "--stop-timeout",
        "2",
        "--csv",
        str(out / "load"),
        "--csv-full-history",
        "--html",
        str(out / "load.html"),
        "--host",
        host,
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {
        **os.environ,
        "MIA_LOAD_CA_DIR": str(ca_dir),
        "MIA_LOAD_WAIT_MIN": str(args.wait_min),
        "MIA_LOAD_WAIT_MAX": str(args.wait_max),
    }
    with (out / "locust.log").open("wb") as log:
        completed = subprocess.run(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=300, check=False
        )
    return completed.returncode


def _number(value: str | None) -> float:
    try:
        return float(value) if value not in (None, "", "N/A") else 0.0
    except ValueError:
        return 0.0


def read_stats(path: Path) -> list[EndpointStats]:
    rows = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append(
                EndpointStats(
                    method=row.get("Type", ""),
                    name=row.get("Name", ""),
                    requests=int(_number(row.get("Request Count"))),
                    failures=int(_number(row.get("Failure Count"))),
                    rps=_number(row.get("Requests/s")),
                    p50_ms=_number(row.get("50%")),
                    p95_ms=_number(row.get("95%")),
                    p99_ms=_number(row.get("99%")),
                    max_ms=_number(row.get("Max Response Time")),
                )
            )
    return rows


def read_history(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def count_exceptions(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open(newline="") as handle:
        return sum(int(_number(row.get("Count"))) for row in csv.DictReader(handle))


def apply_gates(
    stats: Sequence[EndpointStats], exceptions: int, args: argparse.Namespace
) -> list[Gate]:
    total = next((row for row in stats if row.name == AGGREGATED), None)
    if total is None:
        return [Gate("stats present", False, "no Aggregated row in the Locust CSV")]
    gates = [
        Gate(
            "failure ratio",
            total.failure_ratio <= args.max_failure_ratio,
            f"{total.failures}/{total.requests} = {total.failure_ratio:.4f} "
            f"(limit {args.max_failure_ratio:g})",
        ),
        Gate(
            "p95 latency",
            total.p95_ms <= args.p95_ms,
            f"{total.p95_ms:.0f} ms (limit {args.p95_ms:g} ms)",
        ),
        Gate(
            "requests made",
            total.requests >= args.min_requests,
            f"{total.requests} (minimum {args.min_requests})",
        ),
        Gate("device exceptions", exceptions == 0, f"{exceptions} (limit 0)"),
    ]
    if args.p99_ms is not None:
        gates.append(
            Gate(
                "p99 latency",
                total.p99_ms <= args.p99_ms,
                f"{total.p99_ms:.0f} ms (limit {args.p99_ms:g} ms)",
            )
        )
    return gates


def format_table(stats: Sequence[EndpointStats]) -> str:
    header = (
        f"{'method':<6} {'name':<40} {'reqs':>7} {'fails':>6} {'req/s':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    )
    lines = [header, "-" * len(header)]
    for row in stats:
        lines.append(
            f"{row.method:<6} {row.name:<40} {row.requests:>7} {row.failures:>6} "
            f"{row.rps:>8.1f} {row.p50_ms:>7.0f} {row.p95_ms:>7.0f} {row.p99_ms:>7.0f} "
            f"{row.max_ms:>7.0f}"
        )
    return "\n".join(lines)


def plot(stats: Sequence[EndpointStats], history: Sequence[dict[str, str]], path: Path) -> None:
    """Throughput and p50/p95 per endpoint; aggregated latency and throughput over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    endpoints = [row for row in stats if row.name != AGGREGATED]
    labels = [f"{row.method} {row.name}" for row in endpoints]
    positions = list(range(len(endpoints)))
    fig, axes = plt.subplots(2, 2, figsize=(14, 9))
    (ax_rps, ax_lat), (ax_time, ax_time_rps) = axes

    ax_rps.barh(positions, [row.rps for row in endpoints], color="tab:blue")
    ax_rps.set_yticks(positions, labels, fontsize=8)
    ax_rps.invert_yaxis()
    ax_rps.set_xlabel("requests/s")
    ax_rps.set_title("Throughput per endpoint")

    height = 0.4
    ax_lat.barh(
        [p - height / 2 for p in positions],
        [row.p50_ms for row in endpoints],
        height,
        label="p50",
        color="tab:green",
    )
    ax_lat.barh(
        [p + height / 2 for p in positions],
        [row.p95_ms for row in endpoints],
        height,
        label="p95",
        color="tab:orange",
    )
    ax_lat.set_yticks(positions, labels, fontsize=8)
    ax_lat.invert_yaxis()
    ax_lat.set_xlabel("ms")
    ax_lat.set_title("Latency per endpoint")
    ax_lat.legend()

    rows = [row for row in history if row.get("Name") == AGGREGATED]
    if rows:
        start = _number(rows[0].get("Timestamp"))
        seconds = [_number(row.get("Timestamp")) - start for row in rows]
        for column, colour in (("50%", "tab:green"), ("95%", "tab:orange"), ("99%", "tab:red")):
            ax_time.plot(
                seconds, [_number(row.get(column)) for row in rows], label=column, color=colour
            )
        ax_time.set_xlabel("seconds")
        ax_time.set_ylabel("response time (ms)")
        ax_time.set_title("Response times over time (all endpoints)")
        ax_time.legend(loc="upper left")
        ax_time_rps.plot(seconds, [_number(row.get("Requests/s")) for row in rows], label="req/s")
        ax_time_rps.plot(
            seconds, [_number(row.get("Failures/s")) for row in rows], label="failures/s"
        )
        users = ax_time_rps.twinx()
        users.plot(
            seconds,
            [_number(row.get("User Count")) for row in rows],
            color="grey",
            linestyle="--",
            label="users",
        )
        users.set_ylabel("users")
        ax_time_rps.set_xlabel("seconds")
        ax_time_rps.set_ylabel("per second")
        ax_time_rps.set_title("Throughput over time")
        ax_time_rps.legend(loc="upper left")
    fig.suptitle("MIA load smoke")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.smoke", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=Path("reports/load"), help="output directory")
    parser.add_argument("--users", type=int, default=10, help="simulated devices")
    parser.add_argument("--spawn-rate", type=float, default=5, help="devices started per second")
    parser.add_argument("--run-time", default="20s", help="Locust run time (e.g. 20s, 1m)")
    parser.add_argument("--wait-min", type=float, default=0.05, help="think time minimum (s)")
    parser.add_argument("--wait-max", type=float, default=0.2, help="think time maximum (s)")
    parser.add_argument("--p95-ms", type=float, default=500.0, help="aggregated p95 bound (ms)")
    parser.add_argument("--p99-ms", type=float, default=None, help="aggregated p99 bound (ms)")
    parser.add_argument(
        "--max-failure-ratio", type=float, default=0.0, help="failed requests / requests"
    )
    parser.add_argument("--min-requests", type=int, default=50, help="fewer requests fail")
    parser.add_argument("--host", help="test this server instead of starting one")
    parser.add_argument(
        "--ca-dir", type=Path, help="with --host: platform CA directory the server trusts"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("load_*.csv"):
        stale.unlink()
    started = time.monotonic()
    if args.host:
        ca_dir = args.ca_dir or out / "platform-ca"
        print(f"Load smoke against {args.host} (platform CA {ca_dir})")
        locust_status = run_locust(args, args.host.rstrip("/"), ca_dir, out)
    else:
        with (
            tempfile.TemporaryDirectory(prefix="mia-load-") as tmp,
            (out / "server.log").open("wb") as log,
            reference_server(Path(tmp), log) as (url, ca_dir),
        ):
            print(f"Reference server up on {url} after {time.monotonic() - started:.1f} s")
            locust_status = run_locust(args, url, ca_dir, out)
    print(f"Locust finished (exit status {locust_status}) after {time.monotonic() - started:.1f} s")

    stats_path = out / "load_stats.csv"
    if not stats_path.exists():
        print(f"FAIL: Locust wrote no statistics; see {out / 'locust.log'}")
        return 1
    stats = read_stats(stats_path)
    history = read_history(out / "load_stats_history.csv")
    exceptions = count_exceptions(out / "load_exceptions.csv")
    gates = apply_gates(stats, exceptions, args)
    plot(stats, history, out / "load.png")

    print()
    print(format_table(stats))
    print()
    for gate in gates:
        print(f"{'PASS' if gate.passed else 'FAIL'}  {gate.name:<18} {gate.detail}")
    passed = all(gate.passed for gate in gates)
    summary: dict[str, Any] = {
        "passed": passed,
        "users": args.users,
        "run_time": args.run_time,
        "gates": [asdict(gate) for gate in gates],
        "endpoints": [asdict(row) for row in stats],
        "exceptions": exceptions,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"\n{'PASSED' if passed else 'FAILED'} in {summary['elapsed_s']} s; "
        f"report {out / 'load.html'}, plot {out / 'load.png'}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
