"""The load smoke (gates must pass) and a short benchmark run."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest

# Locust is only looked up, not imported: importing it here would monkeypatch the test process
# with gevent. The smoke runs it in its own process.
if importlib.util.find_spec("locust") is None:
    pytest.skip("locust is not installed", allow_module_level=True)
pytest.importorskip("matplotlib")

from loadtests import bench, smoke


def test_load_smoke_passes_its_gates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    status = smoke.main(["--out", str(tmp_path), "--run-time", "15s"])
    output = capsys.readouterr().out
    assert status == 0, output
    assert "FAIL" not in output
    for name in ("load_stats.csv", "load_stats_history.csv", "load.html", "load.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["passed"] is True
    names = {row["name"] for row in summary["endpoints"]}
    assert {"/login/challenge", "/token", "/api/me", "/api/accounts"} <= names
    assert time.monotonic() - started < 45


def test_gates_fail_on_failures_and_latency() -> None:
    args = smoke.parse_args(["--p95-ms", "100"])
    row = smoke.EndpointStats("", smoke.AGGREGATED, 100, 1, 10.0, 5, 150, 200, 300)
    gates = {gate.name: gate.passed for gate in smoke.apply_gates([row], 0, args)}
    assert gates == {
        "failure ratio": False,
        "p95 latency": False,
        "requests made": True,
        "device exceptions": True,
    }


def test_bench_short_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = bench.main(["--logins", "50", "--out", str(tmp_path)])
    output = capsys.readouterr().out
    assert status == 0, output
    assert "ratio" in output
    results = json.loads((tmp_path / "bench.json").read_text())
    for flow in ("login", "refresh", "api_call"):
        entry = results["flows"][flow]
        assert entry["server_us"] > 0
        assert entry["crypto_floor_us"] > 0
        assert entry["ratio"] >= 1.0
    assert (tmp_path / "bench.png").read_bytes().startswith(b"\x89PNG")
