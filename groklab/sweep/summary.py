"""The end of a sweep: `summary.md` (one row per member: the swept keys, status, verdict, steps to 99%) and the
report (report.html, report.md) of its members, written into the sweep folder once every member has finished.
The report has the tables and the comparison figure; per-run figures cost ~0.6 s of CPU each, so they are left to
`groklab report` (named in summary.md).

Read through `runs` (status, summary.json's `thresholds` and `detection`) and `sweep.json`; the tables are
the analysis layer's (`md_table`, `fmt_step`), so summary.md and the report show the same numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from groklab.analysis.report import write_report
from groklab.analysis.tables import DASH, fmt_step, fmt_steps, md_cell, md_table
from groklab.errors import GroklabError
from groklab.io import atomic_write
from groklab.runs import FINISHED, RunDir
from groklab.sweep.record import read_record

FIGURES_UP_TO = 200  # members: beyond this the comparison figure is unreadable and the report has tables only


def member_row(member: dict[str, Any], keys: list[str]) -> dict[str, str]:
    """One summary.md row of display strings; a member that never started shows its sweep status."""
    run = RunDir(member["run_dir"])
    summary: dict[str, Any] = {}
    if run.exists():
        try:
            summary = run.summary()
        except GroklabError as e:
            summary = {"error": str(e)}
    crossings = summary.get("thresholds") or {}
    detection = summary.get("detection") or {}
    row = {k: str(member["overrides"].get(k, DASH)) for k in keys}
    return row | {
        "run": member["run"],
        "status": member["status"],
        "steps": fmt_steps(summary),
        "verdict": detection.get("verdict", DASH),
        "train 99%": fmt_step((crossings.get("train/acc") or {}).get("0.99")),
        "val 99%": fmt_step((crossings.get("val/acc") or {}).get("0.99")),
        "error": summary.get("error") or "",
    }


def summary_markdown(record: dict[str, Any], title: str) -> str:
    keys = list(record.get("grid") or {})
    rows = [member_row(m, keys) for m in record["members"]]
    columns = [*keys, "status", "verdict", "train 99%", "val 99%", "steps", "run"]
    if any(r["error"] for r in rows):
        columns.append("error")
    counts = ", ".join(f"{status}: {n}" for status, n in sorted((record.get("counts") or {}).items()))
    parts = [f"# {md_cell(title)}", "", f"`{md_cell(record.get('command', ''))}`", "",
             f"{len(rows)} members ({counts}). Steps to 99%: the first evaluation with train / val accuracy >= 0.99 "
             "(summary.json `thresholds`); verdict: the detector's (summary.json `detection`). Tables and the "
             "comparison figure: report.html; every run's figures: `groklab report` on the members' folder.", "",
             md_table(columns, rows), ""]
    return "\n".join(parts)


def finished(record: dict[str, Any]) -> bool:
    """Every member ended (completed, diverged, imported or failed): nothing pending, running or resumable."""
    return all(m["status"] in (*FINISHED, "failed") for m in record["members"])


def write_summary(sweep_dir: Path) -> Path:
    """summary.md and report.html/.md in the sweep folder; returns summary.md's path."""
    record = read_record(sweep_dir)
    title = f"groklab sweep {sweep_dir.name}" + (f" ({record['preset']})" if record.get("preset") else "")
    path = sweep_dir / "summary.md"
    atomic_write(path, summary_markdown(record, title))
    members = [Path(m["run_dir"]) for m in record["members"] if RunDir(m["run_dir"]).exists()]
    if members:
        write_report(members, sweep_dir / "report.html", figures=len(members) <= FIGURES_UP_TO, title=title,
                     run_figures=False)
    return path
