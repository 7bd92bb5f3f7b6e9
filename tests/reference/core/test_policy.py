"""Policy parsing, version comparison and reload without restart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reference.core.policy import PolicyError, PolicySource, parse_policy, version_at_least

BASE = """
[pin]
max_failed_attempts = 5
[apps."com.example.bank"]
signing_certificate_sha256 = "abc"
versions = { "2.0.0" = "enabled" }
[os]
android = "12"
"""


@pytest.mark.parametrize(
    ("version", "minimum", "expected"),
    [
        ("14", "12", True),
        ("12", "12", True),
        ("12.0.1", "12", True),
        ("11.9", "12", False),
        ("16.0", "16.0", True),
        ("9", "12", False),
        ("14-beta", "12", False),
        ("100", "99.9", True),
    ],
)
def test_version_at_least(version: str, minimum: str, expected: bool) -> None:
    assert version_at_least(version, minimum) is expected


def test_unknown_version_is_disabled() -> None:
    policy = parse_policy({"apps": {"a": {"signing_certificate_sha256": "x", "versions": {}}}})
    assert policy.apps["a"].version_status("3.0") == "disabled"


@pytest.mark.parametrize(
    "data",
    [
        {"pin": {"max_failed_attempts": 0}},
        {"pin": {"max_failed_attempts": 101}},
        {"pin": {"length": 2}},
        {"apps": {"a": {"signing_certificate_sha256": "x", "versions": {"1": "maybe"}}}},
        {"apps": {"a": {}}},
    ],
)
def test_invalid_policies_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(PolicyError):
        parse_policy(data)


def test_policy_reloads_on_change_and_keeps_last_good_one(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(BASE)
    source = PolicySource(path)
    assert source.current().pin.max_failed_attempts == 5

    path.write_text(BASE.replace("max_failed_attempts = 5", "max_failed_attempts = 3"))
    os.utime(path, ns=(1, 1_000_000_000_000))
    assert source.current().pin.max_failed_attempts == 3

    path.write_text("this is [not toml")
    os.utime(path, ns=(1, 2_000_000_000_000))
    assert source.current().pin.max_failed_attempts == 3
