"""Runs checks, times each, and applies the configuration's expected failures."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from conformance.context import Context
from conformance.registry import Check, load_checks
from conformance.results import CheckFailed, CheckResult, CheckSkipped, CheckWarning, Outcome

Progress = Callable[[CheckResult], None]


@dataclass(slots=True)
class RunResult:
    target: str
    started_at: str
    duration_s: float = 0.0
    results: list[CheckResult] = field(default_factory=list)

    @classmethod
    def start(cls, target: str) -> RunResult:
        """An empty run against `target`, stamped with the current UTC time."""
        started = dt.datetime.now(dt.UTC)
        return cls(
            target=target, started_at=started.isoformat(timespec="seconds").replace("+00:00", "Z")
        )

    @property
    def summary(self) -> dict[str, int]:
        counts = {"passed": 0, "failed": 0, "warnings": 0, "skipped": 0}
        key = {
            Outcome.PASSED: "passed",
            Outcome.FAILED: "failed",
            Outcome.WARNING: "warnings",
            Outcome.SKIPPED: "skipped",
        }
        for result in self.results:
            counts[key[result.result]] += 1
        return counts

    @property
    def failed(self) -> bool:
        return any(r.result is Outcome.FAILED for r in self.results)


def select(checks: Sequence[Check], only: Iterable[str] | None) -> list[Check]:
    """The checks named in `only` (in suite order), all when `only` is empty or None."""
    wanted = list(only or [])
    if not wanted:
        return list(checks)
    known = {c.id for c in checks}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise KeyError(f"unknown check ids: {', '.join(unknown)}")
    return [c for c in checks if c.id in set(wanted)]


def execute(check: Check, ctx: Context) -> tuple[Outcome, str]:
    """Run one check; its own outcome and reason, before any expected failure is applied."""
    try:
        check(ctx)
    except CheckFailed as exc:
        return Outcome.FAILED, exc.reason
    except CheckSkipped as exc:
        return Outcome.SKIPPED, exc.reason
    except CheckWarning as exc:
        return Outcome.WARNING, exc.reason
    except Exception as exc:  # an unexpected exception in a check is a failure
        text = str(exc) or repr(exc)
        return Outcome.FAILED, f"{type(exc).__name__}: {text}"
    return Outcome.PASSED, ""


def expect(
    check_id: str, outcome: Outcome, reason: str, expected_failures: dict[str, str]
) -> tuple[Outcome, str]:
    """The reported outcome: a listed check that fails, or passes anyway, is a WARNING."""
    if check_id in expected_failures:
        why = expected_failures[check_id]
        if outcome is Outcome.FAILED:
            return Outcome.WARNING, f"expected failure ({why}): {reason}"
        if outcome is Outcome.PASSED:
            return Outcome.WARNING, f"listed as expected failure ({why}) but passed"
    return outcome, reason


def result_of(check: Check, outcome: Outcome, reason: str, duration_ms: int) -> CheckResult:
    return CheckResult(
        check.id, check.section, check.title, check.chapter, outcome, reason, duration_ms
    )


def run_check(check: Check, ctx: Context, expected_failures: dict[str, str]) -> CheckResult:
    start = time.perf_counter()
    outcome, reason = execute(check, ctx)
    duration_ms = round((time.perf_counter() - start) * 1000)
    outcome, reason = expect(check.id, outcome, reason, expected_failures)
    return result_of(check, outcome, reason, duration_ms)


def run(
    ctx: Context, *, only: Iterable[str] | None = None, progress: Progress | None = None
) -> RunResult:
    checks = select(load_checks(), only)
    run_result = RunResult.start(ctx.issuer)
    clock = time.perf_counter()
    for check in checks:
        result = run_check(check, ctx, ctx.config.expected_failures)
        run_result.results.append(result)
        if progress is not None:
            progress(result)
    run_result.duration_s = round(time.perf_counter() - clock, 3)
    return run_result
