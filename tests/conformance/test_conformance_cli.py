"""The suite's framework: CLI, expected failures, reports, and the expiry checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RunningServer

from conformance.cli import main
from conformance.config import ConfigError, config_from_dict, load_config
from conformance.context import Context
from conformance.registry import Check, load_checks
from conformance.report import to_html, write_reports
from conformance.results import CheckFailed, CheckSkipped, CheckWarning, Outcome
from conformance.runner import RunResult, run, run_check

EXPIRY_CHECKS = [
    "REG-NONCE-EXPIRED",
    "ENR-CODE-EXPIRED",
    "LOGIN-CHALLENGE-EXPIRED",
    "API-TOKEN-EXPIRED",
]


def _check(func: object, check_id: str = "TEST-CHECK") -> Check:
    return Check(check_id, "1.1", "a test check", "discovery", func)  # type: ignore[arg-type]


def _ctx() -> Context:
    return Context(config_from_dict({}, target="http://127.0.0.1:9"))


def test_outcomes_of_a_check() -> None:
    ctx = _ctx()

    def passes(_: Context) -> None:
        return None

    def fails(_: Context) -> None:
        raise CheckFailed("nope")

    def skips(_: Context) -> None:
        raise CheckSkipped("later")

    def warns(_: Context) -> None:
        raise CheckWarning("hmm")

    def crashes(_: Context) -> None:
        raise KeyError("boom")

    results = {
        f.__name__: run_check(_check(f), ctx, {}) for f in (passes, fails, skips, warns, crashes)
    }
    assert results["passes"].result is Outcome.PASSED
    assert (results["fails"].result, results["fails"].reason) == (Outcome.FAILED, "nope")
    assert results["skips"].result is Outcome.SKIPPED
    assert results["warns"].result is Outcome.WARNING
    assert results["crashes"].result is Outcome.FAILED
    assert results["crashes"].reason == "KeyError: 'boom'"


def test_expected_failures_become_warnings() -> None:
    ctx = _ctx()

    def fails(_: Context) -> None:
        raise CheckFailed("nope")

    def passes(_: Context) -> None:
        return None

    expected = {"TEST-CHECK": "known bug #12"}
    failed = run_check(_check(fails), ctx, expected)
    assert failed.result is Outcome.WARNING
    assert "known bug #12" in failed.reason and "nope" in failed.reason
    passed = run_check(_check(passes), ctx, expected)
    assert passed.result is Outcome.WARNING
    assert "but passed" in passed.reason


def test_config_defaults_and_file(tmp_path: Path) -> None:
    config = load_config(None, target="http://127.0.0.1:8000/")
    assert config.issuer == "http://127.0.0.1:8000"
    assert config.rp_client_id == "demo-bank-backend"
    assert config.rp_client_secret == "demo-bank-backend-secret"
    assert config.pin_limit == 5
    assert (config.version_login_only, config.version_disabled) == ("1.9.0", "1.0.0")
    assert config.min_os == {"android": "12"}
    assert config.platform_ca_cert == Path("var/platform-ca/root.pem")
    (tmp_path / "ca").mkdir()
    (tmp_path / "ca" / "root.pem").write_text("cert")
    (tmp_path / "ca" / "root-key.pem").write_text("key")
    file = tmp_path / "suite.json"
    file.write_text(
        json.dumps(
            {
                "target": "https://mia.example",
                "platform_ca": {"cert": "ca/root.pem"},
                "pin_limit": 3,
                "expected_failures": {"DPOP-HTU": "ticket 7"},
            }
        )
    )
    loaded = load_config(file)
    assert loaded.issuer == "https://mia.example"
    assert loaded.platform_ca_cert == tmp_path / "ca" / "root.pem"
    assert loaded.platform_ca_key == tmp_path / "ca" / "root-key.pem"
    assert loaded.pin_limit == 3 and loaded.expected_failures == {"DPOP-HTU": "ticket 7"}
    with pytest.raises(ConfigError, match="does not exist"):
        config_from_dict({"target": "http://x", "platform_ca": {"cert": str(tmp_path / "no.pem")}})
    with pytest.raises(ConfigError):
        config_from_dict({"target": "ftp://nope"})
    with pytest.raises(ConfigError):
        config_from_dict({"target": "http://x", "pin_limit": "five"})


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert f"{len(load_checks())} checks" in out
    assert "DPOP-HTM" in out


def test_unknown_check_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--target", "http://127.0.0.1:9", "--only", "NO-SUCH-CHECK"]) == 2
    assert "NO-SUCH-CHECK" in capsys.readouterr().err


def test_cli_writes_reports(
    mia_server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "suite.json"
    config.write_text(
        json.dumps({**mia_server.config, "expected_failures": {"DISC-JWKS": "demo of a reason"}})
    )
    code = main(
        [
            "--config",
            str(config),
            "--report-dir",
            str(tmp_path / "out"),
            "--only",
            "DISC-METADATA",
            "DISC-JWKS",
            "REG-NONCE-EXPIRED",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASSED   DISC-METADATA" in out
    assert "WARNING  DISC-JWKS" in out and "demo of a reason" in out
    assert "SKIPPED  REG-NONCE-EXPIRED" in out
    report = json.loads((tmp_path / "out" / "conformance.json").read_text())
    assert report["target"] == mia_server.url
    assert report["summary"] == {"passed": 1, "failed": 0, "warnings": 1, "skipped": 1}
    assert {"started_at", "duration_s"} <= set(report)
    first = report["checks"][0]
    assert {"id", "section", "title", "result", "reason", "duration_ms"} <= set(first)
    html = (tmp_path / "out" / "conformance.html").read_text()
    assert "DISC-METADATA" in html and "01-discovery.md" in html


def test_cli_exit_code_on_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Nothing listens on port 9: every check fails, the exit code says so.
    code = main(
        ["--target", "http://127.0.0.1:9", "--report-dir", str(tmp_path), "--only", "DISC-JWKS"]
    )
    assert code == 1
    assert "FAILED   DISC-JWKS" in capsys.readouterr().out


def test_html_escapes_and_groups() -> None:
    result = RunResult(target="http://x", started_at="2025-01-01T00:00:00Z")
    from conformance.results import CheckResult

    result.results.append(
        CheckResult("DPOP-HTM", "6.2", "t", "dpop", Outcome.FAILED, "<script>alert(1)</script>", 3)
    )
    html = to_html(result)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "DPoP at the token endpoint" in html and "06-dpop.md" in html


def test_expiry_checks_against_short_lifetimes(
    short_lived_server: RunningServer, tmp_path: Path
) -> None:
    ctx = short_lived_server.context()
    try:
        result = run(ctx, only=EXPIRY_CHECKS)
    finally:
        ctx.close()
    assert {r.id: r.result for r in result.results} == dict.fromkeys(EXPIRY_CHECKS, Outcome.PASSED)
    json_path, html_path = write_reports(result, tmp_path)
    assert json_path.exists() and html_path.exists()
