"""Every check must catch a deliberately broken server.

Each check is run alone (`--only`) against the reference server broken as broken_servers.BREAKS
says, and must report FAILED.
"""

from __future__ import annotations

import re

import pytest
from broken_servers import ALG, BREAKS, RULES_WITHOUT_CHECK, SECTION_EXCEPTIONS, broken
from conftest import RunningServer

from conformance.registry import load_checks
from conformance.results import Outcome
from conformance.runner import run
from reference.core.rules import RULES


def test_every_check_has_a_breaker() -> None:
    registered = {c.id for c in load_checks()}
    assert registered == set(BREAKS), (
        f"checks without a breaker: {sorted(registered - set(BREAKS))}; "
        f"breakers without a check: {sorted(set(BREAKS) - registered)}"
    )


def test_every_rule_is_proved_by_a_check() -> None:
    used = {rule for b in BREAKS.values() for rule in b.rules}
    assert set(RULES) - used == RULES_WITHOUT_CHECK


def test_sections_match_the_rules() -> None:
    """A check that breaks with one rule cites that rule's spec section."""
    by_id = {c.id: c for c in load_checks()}
    for check_id, breaker in BREAKS.items():
        sections = {RULES[r] for r in breaker.rules if r != ALG}
        if check_id in SECTION_EXCEPTIONS:
            assert by_id[check_id].section == SECTION_EXCEPTIONS[check_id]
        elif len(sections) == 1 and not breaker.patches:
            assert by_id[check_id].section in sections, check_id


@pytest.mark.parametrize("check_id", sorted(BREAKS))
def test_check_catches_broken_server(
    check_id: str,
    mia_server: RunningServer,
    short_lived_server: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    breaker = BREAKS[check_id]
    target = short_lived_server if breaker.short_lived else mia_server
    ctx = target.context(**breaker.extra_config)
    try:
        ctx.metadata  # noqa: B018 - discovery before the server is broken
        with broken(breaker, monkeypatch):
            result = run(ctx, only=[check_id])
    finally:
        ctx.close()
    [outcome] = result.results
    assert outcome.result is Outcome.FAILED, (
        f"{check_id} did not catch the broken server: {outcome.result.value} {outcome.reason}"
    )
    # Caught by an assertion about the protocol, not by a crash inside the check.
    assert not re.match(r"^[A-Za-z]+(Error|Exception): ", outcome.reason), outcome.reason
    # ... and not by the broken variant itself crashing: a 5xx would fail any check.
    if check_id != "ROB-FUZZ-NO-5XX":
        assert "HTTP 500" not in outcome.reason, outcome.reason
