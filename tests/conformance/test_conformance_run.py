"""The whole suite against the reference server: nothing may fail."""

from __future__ import annotations

from pathlib import Path

from conftest import RunningServer

from conformance.runner import run


def test_whole_suite_passes(mia_server: RunningServer, tmp_path: Path) -> None:
    ctx = mia_server.context()
    try:
        result = run(ctx)
    finally:
        ctx.close()
    failed = [f"{r.id}: {r.reason}" for r in result.results if r.result.value == "FAILED"]
    for r in result.results:
        print(f"{r.result.value:<8} {r.id:<30} {r.duration_ms:>6} ms {r.reason}")
    print(result.summary, result.duration_s)
    assert not failed, "\n".join(failed)
