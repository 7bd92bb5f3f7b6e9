"""The command line: `python -m conformance --target URL [--config FILE] [--report-dir DIR]
[--only ID ...] [--list]`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.config import ConfigError, load_config
from conformance.context import Context
from conformance.registry import load_checks
from conformance.report import default_spec_base, summary_line, write_reports
from conformance.results import CheckResult
from conformance.runner import run, select


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conformance",
        description="Check that a server follows the MIA protocol specification.",
    )
    parser.add_argument("--target", help="base URL (issuer) of the server under test")
    parser.add_argument("--config", help="JSON configuration file (docs/conformance.md)")
    parser.add_argument(
        "--report-dir",
        default="reports",
        help="where conformance.json and conformance.html go (default: reports)",
    )
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these check ids")
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    return parser


def _line(result: CheckResult) -> str:
    reason = f"  {result.reason}" if result.reason else ""
    return f"{result.result.value:<8} {result.id:<28} §{result.section:<5} {result.title}{reason}"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    checks = load_checks()
    if args.list:
        for c in checks:
            print(f"{c.id:<28} §{c.section:<5} [{c.chapter}] {c.title}")
        print(f"{len(checks)} checks")
        return 0
    try:
        config = load_config(args.config, target=args.target)
    except ConfigError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    try:
        select(checks, args.only)
    except KeyError as exc:
        print(f"conformance: {exc.args[0]}", file=sys.stderr)
        return 2

    def progress(result: CheckResult) -> None:
        print(_line(result), flush=True)

    print(f"MIA conformance against {config.issuer}", flush=True)
    ctx = Context(config)
    try:
        result = run(ctx, only=args.only, progress=progress)
    finally:
        ctx.close()
    json_path, html_path = write_reports(
        result, Path(args.report_dir), spec_base=default_spec_base()
    )
    print(f"\n{summary_line(result)}")
    print(f"reports: {json_path} {html_path}")
    return 1 if result.failed else 0
