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

    @property
    def summary(self) -> dict[str, int]:
        counts = {"passed": 0, "failed": 0, "warnings": 0, "skipped": 0}
        key = {Outcome.PASSED: "passed", Outcome.FAILED: "failed",
               Outcome.WARNING: "warnings", Outcome.SKIPPED: "skipped"}
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


def _execute(check: Check, ctx: Context) -> tuple[Outcome, str]:
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


def run_check(check: Check, ctx: Context, expected_failures: dict[str, str]) -> CheckResult:
    start = time.perf_counter()
    outcome, reason = _execute(check, ctx)
    duration_ms = round((time.perf_counter() - start) * 1000)
    if check.id in expected_failures:
        why = expected_failures[check.id]
        if outcome is Outcome.FAILED:
            outcome, reason = Outcome.WARNING, f"expected failure ({why}): {reason}"
        elif outcome is Outcome.PASSED:
            outcome, reason = Outcome.WARNING, f"listed as expected failure ({why}) but passed"
    return CheckResult(check.id, check.section, check.title, check.chapter, outcome, reason,
                       duration_ms)


def run(ctx: Context, *, only: Iterable[str] | None = None,
        progress: Progress | None = None) -> RunResult:
    checks = select(load_checks(), only)
    started = dt.datetime.now(dt.UTC)
    run_result = RunResult(target=ctx.issuer,
                           started_at=started.isoformat(timespec="seconds").replace("+00:00", "Z"))
    clock = time.perf_counter()
    for check in checks:
        result = run_check(check, ctx, ctx.config.expected_failures)
        run_result.results.append(result)
        if progress is not None:
            progress(result)
    run_result.duration_s = round(time.perf_counter() - clock, 3)
    return run_result
