"""Local PIN policy (spec §4.1)."""

from __future__ import annotations

import pytest

from simulator.pin_policy import DEFAULT_POLICY, check, is_repeat, is_sequence

POLICY = dict(DEFAULT_POLICY)


@pytest.mark.parametrize("pin", ["24681", "90210", "13572", "80808", "01235"])
def test_acceptable_pins(pin: str) -> None:
    assert check(pin, POLICY) == []


@pytest.mark.parametrize(
    ("pin", "fragment"),
    [
        ("1234", "exactly 5 digits"),
        ("246813", "exactly 5 digits"),
        ("12a45", "digits only"),
        ("", "digits only"),
        ("\uff11\uff12\uff13\uff14\uff15", "digits only"),  # full-width digits
        ("23456", "sequence"),
        ("98765", "sequence"),
        ("56789", "sequence"),
        ("77777", "repeat"),
        ("12345", "sequence"),
        ("13579", "too common"),
        ("24680", "too common"),
    ],
)
def test_refused_pins(pin: str, fragment: str) -> None:
    problems = check(pin, POLICY)
    assert problems
    assert any(fragment in problem for problem in problems), problems


def test_blocklisted_sequence_reports_both_problems() -> None:
    problems = check("12345", POLICY)
    assert len(problems) == 2


def test_wrapping_is_not_a_sequence() -> None:
    assert not is_sequence("89012")
    assert not is_sequence("21098")
    assert check("89012", POLICY) == []


def test_sequence_and_repeat_helpers() -> None:
    assert is_sequence("0123") and is_sequence("43210")
    assert not is_sequence("12346") and not is_sequence("1")
    assert is_repeat("000") and not is_repeat("001") and not is_repeat("7")


def test_rules_follow_the_policy_switches() -> None:
    relaxed = {"length": 6, "disallow_sequences": False, "disallow_repeats": False, "blocklist": []}
    assert check("123456", relaxed) == []
    assert check("777777", relaxed) == []
    assert check("12345", relaxed) == ["The PIN must be exactly 6 digits long."]
    assert check("654321", {**relaxed, "blocklist": ["654321"]}) == [
        "This PIN is too common; choose another one."
    ]
