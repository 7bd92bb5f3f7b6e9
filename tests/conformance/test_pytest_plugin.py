"""The pytest plugin (conformance.pytest_plugin): inner pytest sessions against a real server.

The inner sessions run in this process (pytester's default), so they reach the in-process
reference server of conftest.py, and a server broken with the machinery of
broken_servers.py stays broken for them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from broken_servers import BREAKS, broken
from conftest import RunningServer

from conformance.registry import REGISTRY, load_checks
from conformance.results import CheckWarning

pytest_plugins = ["pytester"]

# Import every chapter module out here: pytester drops the modules an inner session imported
# when it ends, and importing a chapter module again would register its checks twice.
ALL_CHECKS = load_checks()

#: A handful of checks across chapters: quick, and one expiry check the normal server skips.
HANDFUL = ["DISC-METADATA", "DISC-JWKS", "REG-HAPPY", "REG-NONCE-EXPIRED", "DPOP-HTM"]


def only(*check_ids: str) -> list[str]:
    return [f"--mia-only={check_id}" for check_id in check_ids]


def config_file(pytester: pytest.Pytester, server: RunningServer, **changes: Any) -> Path:
    """The server's suite configuration as a JSON file, without its target."""
    data = {k: v for k, v in {**server.config, **changes}.items() if k != "target"}
    path = pytester.path / "mia.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def report(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "conformance.json").read_text("utf-8"))
    assert (directory / "conformance.html").is_file()
    return data


def results(data: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["result"] for c in data["checks"]}


def test_checks_run_as_pytest_items(pytester: pytest.Pytester, mia_server: RunningServer) -> None:
    config = config_file(pytester, mia_server)
    result = pytester.runpytest(
        "--mia-target", mia_server.url, "--mia-config", str(config), "-v", "-rs", *only(*HANDFUL)
    )
    result.assert_outcomes(passed=4, skipped=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "mia-conformance::discovery::DISC-METADATA PASSED*",
            "mia-conformance::discovery::DISC-JWKS PASSED*",
            "mia-conformance::registration::REG-HAPPY PASSED*",
            "mia-conformance::registration::REG-NONCE-EXPIRED SKIPPED*",
            "mia-conformance::dpop::DPOP-HTM PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(["SKIPPED *registration nonce lives * longer than max_wait_s*"])
    result.stdout.fnmatch_lines(
        [
            "*MIA conformance against http://127.0.0.1:*",
            "5 checks in *: 4 passed, 0 failed, 0 warnings, 1 skipped",
            "reports: *conformance.json *conformance.html",
        ]
    )
    # The CLI's report, written to the default report directory, in suite order.
    data = report(pytester.path / "reports")
    assert data["target"] == mia_server.url
    assert data["summary"] == {"passed": 4, "failed": 0, "warnings": 0, "skipped": 1}
    assert [c["id"] for c in data["checks"]] == HANDFUL  # suite order
    assert results(data)["REG-NONCE-EXPIRED"] == "SKIPPED"
    expiry = next(c for c in data["checks"] if c["id"] == "REG-NONCE-EXPIRED")
    assert "max_wait_s" in expiry["reason"] and expiry["section"] == "2.3"


def test_items_grouped_by_chapter_with_spec_section(pytester: pytest.Pytester) -> None:
    items, _ = pytester.inline_genitems("--mia-target", "http://127.0.0.1:9")
    assert [item.name for item in items] == [c.id for c in ALL_CHECKS]
    chapters = [item.parent.name for item in items if item.parent is not None]
    assert chapters == [c.chapter for c in ALL_CHECKS]
    jwks = next(item for item in items if item.name == "DISC-JWKS")
    assert jwks.nodeid == "mia-conformance::discovery::DISC-JWKS"
    props = dict(jwks.user_properties)
    assert props["spec_section"] == "1.2" and props["chapter"] == "discovery"
    assert props["title"] == REGISTRY["DISC-JWKS"].title
    assert jwks.description.startswith("§1.2 ")  # type: ignore[attr-defined]
    assert jwks.get_closest_marker("mia_conformance") is not None
    # -k and -m select checks like any other test.
    result = pytester.runpytest(
        "--mia-target", "http://127.0.0.1:9", "--collect-only", "-q", "-k", "dpop and HTM"
    )
    result.stdout.fnmatch_lines(["mia-conformance::dpop::DPOP-HTM", "1/* tests collected*"])


def test_expected_failure_is_xfail(
    pytester: pytest.Pytester, mia_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = {"DPOP-HTM": "tracked as BUG-123", "DISC-JWKS": "key rollover pending"}
    config = config_file(pytester, mia_server, expected_failures=expected)
    with broken(BREAKS["DPOP-HTM"], monkeypatch):
        result = pytester.runpytest(
            "--mia-target",
            mia_server.url,
            "--mia-config",
            str(config),
            "-rxX",
            *only("DISC-METADATA", "DISC-JWKS", "DPOP-HTM"),
        )
    # DPOP-HTM fails on the broken server as listed; DISC-JWKS is listed but passes.
    result.assert_outcomes(passed=1, xfailed=1, xpassed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["XFAIL mia-conformance::dpop::DPOP-HTM - tracked as BUG-123"])
    result.stdout.fnmatch_lines(["XPASS mia-conformance::discovery::DISC-JWKS*key rollover*"])
    # The report says what the CLI would say: both are WARNINGs with the listed reason.
    data = report(pytester.path / "reports")
    checks = {c["id"]: c for c in data["checks"]}
    assert checks["DPOP-HTM"]["result"] == "WARNING"
    assert checks["DPOP-HTM"]["reason"].startswith("expected failure (tracked as BUG-123): ")
    assert checks["DISC-JWKS"]["result"] == "WARNING"
    assert "but passed" in checks["DISC-JWKS"]["reason"]
    assert checks["DISC-METADATA"]["result"] == "PASSED"


def test_broken_server_fails_the_citing_check(
    pytester: pytest.Pytester, mia_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_file(pytester, mia_server)
    with broken(BREAKS["DPOP-HTM"], monkeypatch):
        result = pytester.runpytest(
            "--mia-config",
            str(config),
            "--mia-target",
            mia_server.url,
            "--mia-report-dir",
            "out/mia",
            *only("DISC-JWKS", "DPOP-HTM"),
        )
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*[[]DPOP-HTM FAILED; spec §6.2: A DPoP proof for another HTTP method is refused[]]",
            "FAILED mia-conformance::dpop::DPOP-HTM - *",
        ]
    )
    data = report(pytester.path / "out" / "mia")
    assert results(data) == {"DISC-JWKS": "PASSED", "DPOP-HTM": "FAILED"}
    [htm] = [c for c in data["checks"] if c["id"] == "DPOP-HTM"]
    assert htm["section"] == "6.2" and htm["reason"]
    assert htm["reason"] in result.stdout.str()
    assert not (pytester.path / "reports").exists()


def test_warning_passes_with_a_pytest_warning(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def warns(_: object) -> None:
        raise CheckWarning("a SHOULD the server does not follow")

    monkeypatch.setitem(REGISTRY, "DISC-JWKS", replace(REGISTRY["DISC-JWKS"], func=warns))
    result = pytester.runpytest("--mia-target", "http://127.0.0.1:9", *only("DISC-JWKS"))
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*MiaConformanceWarning: DISC-JWKS (§1.2): a SHOULD the server does not follow"]
    )
    assert results(report(pytester.path / "reports")) == {"DISC-JWKS": "WARNING"}


def test_inert_unless_enabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_own():\n    pass\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    assert "mia-conformance" not in result.stdout.str()
    assert not (pytester.path / "reports").exists()
    # Enabled, the checks come after the session's own tests.
    result = pytester.runpytest("--mia-target", "http://127.0.0.1:9", "--collect-only", "-q")
    lines = result.stdout.lines
    assert lines[0].endswith("::test_own")
    assert lines[1] == f"mia-conformance::discovery::{ALL_CHECKS[0].id}"


def test_load_with_p_next_to_the_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "-p",
        "conformance.pytest_plugin",
        "--mia-target",
        "http://127.0.0.1:9",
        "--collect-only",
        "-q",
        *only("DISC-JWKS"),
    )
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["mia-conformance::discovery::DISC-JWKS"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mia-only", "DISC-JWKS"], "*--mia-only needs --mia-target or --mia-config*"),
        (
            ["--mia-target", "http://127.0.0.1:9", "--mia-only", "NOPE-X"],
            "*unknown check ids: NOPE-X*",
        ),
        (["--mia-target", "ftp://example"], "*target must be an http(s) URL*"),
        (["--mia-config", "missing.json"], "*cannot read*missing.json*"),
    ],
)
def test_usage_errors(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
