"""Local PIN policy check, the app side of spec §4.1.

A PIN is exactly `length` ASCII digits; a *sequence* is a PIN whose every digit is the previous
+1 (or every digit -1), wrapping not allowed; a *repeat* is one digit repeated; blocklist entries
are refused. The server publishes the policy (discovery `mia_pin_policy`, enrollment begin).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

DEFAULT_POLICY: dict[str, Any] = {
    "length": 5,
    "max_failed_attempts": 5,
    "disallow_sequences": True,
    "disallow_repeats": True,
    "blocklist": ["12345", "11111", "54321", "00000", "13579", "24680"],
}

_ASCII_DIGITS = frozenset("0123456789")


def is_sequence(pin: str) -> bool:
    """Every digit is the previous +1, or every digit is the previous -1 (no wrapping)."""
    if len(pin) < 2:
        return False
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    return steps in ({1}, {-1})


def is_repeat(pin: str) -> bool:
    return len(pin) >= 2 and len(set(pin)) == 1


def check(pin: str, policy: Mapping[str, Any]) -> list[str]:
    """Problems with `pin` under `policy`, as sentences for the user; empty means acceptable."""
    problems: list[str] = []
    length = int(policy.get("length", DEFAULT_POLICY["length"]))
    if not isinstance(pin, str) or not pin or not set(pin) <= _ASCII_DIGITS:
        problems.append("The PIN must contain digits only.")
        return problems
    if len(pin) != length:
        problems.append(f"The PIN must be exactly {length} digits long.")
    if policy.get("disallow_sequences", False) and is_sequence(pin):
        problems.append("The PIN must not be a sequence of consecutive digits such as 34567.")
    if policy.get("disallow_repeats", False) and is_repeat(pin):
        problems.append("The PIN must not repeat a single digit such as 77777.")
    blocklist = policy.get("blocklist") or []
    if pin in blocklist:
        problems.append("This PIN is too common; choose another one.")
    return problems
