"""The conformance suite as a pytest plugin: one pytest item per check, grouped by spec chapter.

Installed as the `pytest11` entry point `mia_conformance` (or load it with
`-p conformance.pytest_plugin`). It does nothing unless `--mia-target URL` or `--mia-config FILE`
is given; then every registered check (or those named by `--mia-only ID`) becomes an item
`mia-conformance::<chapter>::<CHECK-ID>`, run by the same code as the `conformance` CLI:

- PASSED is a pass, FAILED a failure with the check's reason, SKIPPED a skip with the reason,
  WARNING a pass that emits a `MiaConformanceWarning`;
- a check listed in the configuration's `expected_failures` is marked xfail with the listed
  reason (a listed check that passes is XPASS, not an error: the CLI reports it as a WARNING);
- `conformance.json` and `conformance.html` are written to `--mia-report-dir` (default `reports`)
  at the end of the session, exactly as the CLI writes them.

Each item carries the check's id, spec section, title and chapter in `user_properties` (so they
appear in JUnit XML) and after it has run the CLI's outcome, reason and duration as well.
"""

from __future__ import annotations

import inspect
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.config import Config
    from conformance.context import Context
    from conformance.registry import Check
    from conformance.results import CheckResult

ENTRY_POINT = "mia_conformance"
PLUGIN_NAME = "mia-conformance-session"
SUITE_NAME = "mia-conformance"
MARKER = "mia_conformance"


class MiaConformanceWarning(UserWarning):
    """A check ended in WARNING: conformant, but the server does something the spec advises
    against."""


class ConformanceFailure(AssertionError):
    """A check ended in FAILED; the message is the check's reason."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """With `-p conformance.pytest_plugin` and the package installed, this module is registered
    under its module name before entry points load; skip the entry point instead of loading the
    same module twice (pluggy refuses that)."""
    if pluginmanager.get_name(sys.modules[__name__]) != ENTRY_POINT:
        pluginmanager.set_blocked(ENTRY_POINT)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mia-conformance", "MIA conformance suite (conformance.pytest_plugin)")
    group.addoption(
        "--mia-target",
        metavar="URL",
        default=None,
        help="run the MIA conformance checks against this server (issuer URL)",
    )
    group.addoption(
        "--mia-config",
        metavar="FILE",
        default=None,
        help="JSON configuration of the server under test (docs/conformance.md)"
        "; enables the conformance checks",
    )
    group.addoption(
        "--mia-report-dir",
        metavar="DIR",
        default="reports",
        help="where conformance.json and conformance.html go (default: reports)",
    )
    group.addoption(
        "--mia-only",
        metavar="ID",
        action="append",
        default=None,
        help="run only this conformance check id (repeatable)",
    )


def pytest_configure(config: pytest.Config) -> None:
    target = config.getoption("mia_target", None)
    config_file = config.getoption("mia_config", None)
    if target is None and config_file is None:
        if config.getoption("mia_only", None):
            raise pytest.UsageError("--mia-only needs --mia-target or --mia-config")
        return  # not enabled: register nothing, import nothing
    config.pluginmanager.register(ConformanceSession(config, target, config_file), PLUGIN_NAME)


class ConformanceSession:
    """The enabled plugin: loads the configuration, collects the checks, writes the reports."""

    def __init__(self, config: pytest.Config, target: str | None, config_file: str | None) -> None:
        from conformance.config import ConfigError, load_config
        from conformance.registry import load_checks
        from conformance.runner import RunResult, select

        base = config.invocation_params.dir
        try:
            self.suite_config: Config = load_config(
                base / config_file if config_file else None, target=target
            )
        except ConfigError as exc:
            raise pytest.UsageError(f"mia conformance: {exc}") from exc
        self.all_checks = load_checks()
        try:
            self.checks: list[Check] = select(self.all_checks, config.getoption("mia_only"))
        except KeyError as exc:
            raise pytest.UsageError(f"--mia-only: {exc.args[0]}") from exc
        self.report_dir = base / config.getoption("mia_report_dir")
        self.results: list[CheckResult] = []
        self.report_paths: tuple[Path, Path] | None = None
        self._context: Context | None = None
        self._is_xdist_worker = hasattr(config, "workerinput")
        config.addinivalue_line("markers", f"{MARKER}: a MIA conformance check")
        self.run = RunResult.start(self.suite_config.issuer)

    def context(self) -> Context:
        """The one Context every check of this process shares (as in a CLI run)."""
        if self._context is None:
            from conformance.context import Context

            self._context = Context(self.suite_config)
        return self._context

    # -- collection ---------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, items: list[pytest.Item]
    ) -> None:
        """Add the checks after the session's own items, before -k/-m deselection."""
        suite = ConformanceSuite.from_parent(
            session, name=SUITE_NAME, nodeid=SUITE_NAME, plugin=self
        )
        items.extend(session.genitems(suite))

    # -- results and reports ------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        props = dict(report.user_properties)
        if "mia_result" not in props:
            return
        from conformance.results import CheckResult, Outcome

        self.results.append(
            CheckResult(
                str(props["check_id"]),
                str(props["spec_section"]),
                str(props["title"]),
                str(props["chapter"]),
                Outcome(str(props["mia_result"])),
                str(props["mia_reason"]),
                int(str(props["mia_duration_ms"])),
            )
        )

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._context is not None:
            self._context.close()
            self._context = None
        if self._is_xdist_worker or not self.results:
            return
        from conformance.report import default_spec_base, write_reports

        order = {c.id: index for index, c in enumerate(self.all_checks)}
        self.run.results = sorted(self.results, key=lambda r: order.get(r.id, len(order)))
        self.run.duration_s = round(sum(r.duration_ms for r in self.run.results) / 1000, 3)
        self.report_paths = write_reports(self.run, self.report_dir, spec_base=default_spec_base())

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.report_paths is None:
            return
        from conformance.report import summary_line

        json_path, html_path = self.report_paths
        terminalreporter.write_sep("-", f"MIA conformance against {self.run.target}")
        terminalreporter.write_line(summary_line(self.run))
        terminalreporter.write_line(f"reports: {json_path} {html_path}")


class ConformanceSuite(pytest.Collector):
    """The root of the checks: one child per spec chapter, in spec order."""

    def __init__(self, *, plugin: ConformanceSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plugin = plugin

    def collect(self) -> Iterator[Chapter]:
        from conformance.registry import CHAPTER_TITLES

        chapters: list[str] = []
        for c in self.plugin.checks:
            if c.chapter not in chapters:
                chapters.append(c.chapter)
        for chapter in chapters:
            node = Chapter.from_parent(self, name=chapter, plugin=self.plugin)
            node.title = CHAPTER_TITLES.get(chapter, chapter)
            yield node


class Chapter(pytest.Collector):
    """The checks of one spec chapter (checks.<chapter> module)."""

    title = ""

    def __init__(self, *, plugin: ConformanceSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plugin = plugin

    def collect(self) -> Iterator[CheckItem]:
        for c in self.plugin.checks:
            if c.chapter == self.name:
                yield CheckItem.from_parent(self, name=c.id, check=c, plugin=self.plugin)


class CheckItem(pytest.Item):
    """One conformance check, run exactly as the CLI runs it."""

    def __init__(self, *, check: Check, plugin: ConformanceSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.plugin = plugin
        self.description = f"§{check.section} {check.title}"
        self.user_properties.extend(
            [
                ("check_id", check.id),
                ("spec_section", check.section),
                ("title", check.title),
                ("chapter", check.chapter),
            ]
        )
        self.add_marker(MARKER)
        why = plugin.suite_config.expected_failures.get(check.id)
        if why is not None:
            self.add_marker(pytest.mark.xfail(reason=why, raises=ConformanceFailure, strict=False))

    def runtest(self) -> None:
        from conformance.results import Outcome
        from conformance.runner import execute, expect

        ctx = self.plugin.context()
        start = time.perf_counter()
        outcome, reason = execute(self.check, ctx)
        duration_ms = round((time.perf_counter() - start) * 1000)
        reported, reported_reason = expect(
            self.check.id, outcome, reason, self.plugin.suite_config.expected_failures
        )
        self.user_properties.extend(
            [
                ("mia_result", reported.value),
                ("mia_reason", reported_reason),
                ("mia_duration_ms", duration_ms),
            ]
        )
        if outcome is Outcome.FAILED:
            raise ConformanceFailure(reason)
        if outcome is Outcome.SKIPPED:
            pytest.skip(reason)
        if outcome is Outcome.WARNING:
            warnings.warn(
                MiaConformanceWarning(f"{self.check.id} (§{self.check.section}): {reason}"),
                stacklevel=1,
            )

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        if isinstance(excinfo.value, ConformanceFailure):
            return (
                f"{excinfo.value}\n"
                f"[{self.check.id} FAILED; spec §{self.check.section}: {self.check.title}]"
            )
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        func = self.check.func
        try:
            source = inspect.getsourcefile(func)
            _, line = inspect.getsourcelines(func)
        except (OSError, TypeError):
            return self.path, None, f"{self.check.id} {self.description}"
        return Path(source or self.path), line - 1, f"{self.check.id} {self.description}"
