"""Writes the run as `conformance.json` and a self-contained, readable `conformance.html`."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from conformance.registry import CHAPTER_TITLES, CHAPTERS
from conformance.results import CheckResult, Outcome
from conformance.runner import RunResult

_SPEC_DIR = Path(__file__).resolve().parents[1] / "docs" / "spec"

# Spec chapter number -> file in docs/spec/ (docs/spec/README.md §0.1).
SPEC_FILES: dict[str, str] = {
    "1": "01-discovery.md",
    "2": "02-registration.md",
    "3": "03-client-authentication.md",
    "4": "04-enrollment.md",
    "5": "05-pin-login.md",
    "6": "06-dpop.md",
    "7": "07-refresh-tokens.md",
    "8": "08-introspection-revocation.md",
    "9": "09-protected-api.md",
    "10": "10-errors.md",
}

COLOURS: dict[Outcome, str] = {
    Outcome.PASSED: "#1b7f3b",
    Outcome.FAILED: "#b3261e",
    Outcome.WARNING: "#a15c00",
    Outcome.SKIPPED: "#5f6368",
}


def default_spec_base() -> str:
    """Where report links to the spec point: the checkout's docs/spec/ when there is one."""
    return _SPEC_DIR.as_uri() + "/" if _SPEC_DIR.is_dir() else "docs/spec/"


def summary_line(run: RunResult) -> str:
    s = run.summary
    return (
        f"{len(run.results)} checks in {run.duration_s:.1f} s: {s['passed']} passed, "
        f"{s['failed']} failed, {s['warnings']} warnings, {s['skipped']} skipped"
    )


def spec_file(section: str) -> str | None:
    return SPEC_FILES.get(section.split(".", 1)[0])


def to_json(run: RunResult) -> dict[str, Any]:
    return {
        "target": run.target,
        "started_at": run.started_at,
        "duration_s": run.duration_s,
        "summary": run.summary,
        "checks": [
            {
                "id": r.id,
                "section": r.section,
                "title": r.title,
                "result": r.result.value,
                "reason": r.reason,
                "duration_ms": r.duration_ms,
                "chapter": r.chapter,
                "spec_file": spec_file(r.section),
            }
            for r in run.results
        ],
    }


def _row(result: CheckResult, spec_base: str) -> str:
    file = spec_file(result.section)
    section = html.escape(result.section)
    if file:
        href = html.escape(f"{spec_base}{file}", quote=True)
        section_cell = (
            f'<a href="{href}" title="docs/spec/{file}">§{section}</a>'
            f"<br><small>{html.escape(file)}</small>"
        )
    else:
        section_cell = f"§{section}"
    colour = COLOURS[result.result]
    return (
        f'<tr class="{result.result.value.lower()}">'
        f'<td><span class="badge" style="background:{colour}">{result.result.value}</span></td>'
        f"<td><code>{html.escape(result.id)}</code></td><td>{section_cell}</td>"
        f"<td>{html.escape(result.title)}</td>"
        f'<td class="reason">{html.escape(result.reason)}</td>'
        f'<td class="num">{result.duration_ms}</td></tr>'
    )


def to_html(run: RunResult, *, spec_base: str = "../docs/spec/") -> str:
    summary = run.summary
    chapters = [c for c in CHAPTERS if any(r.chapter == c for r in run.results)]
    chapters += sorted({r.chapter for r in run.results} - set(chapters))
    sections: list[str] = []
    for chapter in chapters:
        rows = [r for r in run.results if r.chapter == chapter]
        counts = {o: sum(1 for r in rows if r.result is o) for o in Outcome}
        tally = " · ".join(f"{n} {o.value.lower()}" for o, n in counts.items() if n)
        title = html.escape(CHAPTER_TITLES.get(chapter, chapter))
        sections.append(
            f"<section><h2>{title} <small>({tally})</small></h2><table>"
            "<thead><tr><th>result</th><th>check</th><th>spec</th><th>title</th>"
            "<th>reason</th><th>ms</th></tr></thead><tbody>"
            + "".join(_row(r, spec_base) for r in rows)
            + "</tbody></table></section>"
        )
    verdict = "FAILED" if run.failed else "PASSED"
    verdict_colour = COLOURS[Outcome.FAILED if run.failed else Outcome.PASSED]
    cards = "".join(
        f'<div class="card" style="border-color:{COLOURS[o]}"><b>{summary[k]}</b>{k}</div>'
        for o, k in (
            (Outcome.PASSED, "passed"),
            (Outcome.FAILED, "failed"),
            (Outcome.WARNING, "warnings"),
            (Outcome.SKIPPED, "skipped"),
        )
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>MIA conformance report: {html.escape(run.target)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #202124; }}
h1 span {{ color: {verdict_colour}; }}
.cards {{ display: flex; gap: 1rem; margin: 1rem 0 2rem; }}
.card {{ border-left: 6px solid; padding: .5rem 1rem; background: #f8f9fa; min-width: 6rem; }}
.card b {{ display: block; font-size: 1.6rem; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }}
th, td {{ text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e0e0e0;
          vertical-align: top; }}
th {{ background: #f1f3f4; }}
.badge {{ color: white; border-radius: 3px; padding: 1px 6px; font-size: .8rem; }}
tr.failed {{ background: #fce8e6; }} tr.warning {{ background: #fef7e0; }}
.reason {{ font-family: ui-monospace, monospace; font-size: .85rem; max-width: 40rem;
           word-break: break-word; }}
.num {{ text-align: right; }}
</style></head><body>
<h1>MIA conformance: <span>{verdict}</span></h1>
<p>Target <code>{html.escape(run.target)}</code> · started {html.escape(run.started_at)} ·
{run.duration_s:.1f} s · {len(run.results)} checks</p>
<div class="cards">{cards}</div>
{"".join(sections)}
</body></html>
"""


def write_reports(
    run: RunResult, directory: Path, *, spec_base: str = "../docs/spec/"
) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "conformance.json"
    html_path = directory / "conformance.html"
    json_path.write_text(json.dumps(to_json(run), indent=2) + "\n", encoding="utf-8")
    html_path.write_text(to_html(run, spec_base=spec_base), encoding="utf-8")
    return json_path, html_path
