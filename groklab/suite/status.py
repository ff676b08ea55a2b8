"""`groklab status DIR`: one line per member of a sweep folder, a suite folder or a folder of run folders, and a
count per status — what one checked by hand with `squeue`/`sacct` and `ls checkpoints/`.

Members come from every sweep.json at or below DIR (a suite records its arms as one sweep) plus every run folder
found there that no sweep lists (e.g. the tickets study's retraining runs). A member's status is read through
`runs` (a `running` folder whose lock is free was killed: `interrupted`), so it works while jobs still train; the
SLURM job id is the one `--executor slurm` recorded, its state is submitit's.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groklab.analysis.tables import DASH, error_line, fmt_step
from groklab.errors import GroklabError
from groklab.io import finite
from groklab.runs import RunDir, find_runs
from groklab.sweep.record import member_state, read_record
from groklab.sweep.slurm import job_states


@dataclass(frozen=True)
class Member:
    run_dir: Path
    label: str
    job: str = ""  # "<job id> <state>" for members submitted through submitit


def sweep_records(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """(sweep folder, sweep.json) of `folder` itself, or of every sweep folder below it."""
    if (folder / "sweep.json").is_file():
        return [(folder, read_record(folder))]
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != "checkpoints" and not d.startswith("."))
        if "sweep.json" in filenames:
            found.append((Path(dirpath), read_record(Path(dirpath))))
    return found


def members(folder: Path) -> list[Member]:
    folder = Path(folder)
    if not folder.is_dir():
        raise GroklabError(f"{folder}: no such folder")
    out: dict[Path, Member] = {}
    records = sweep_records(folder)
    for sweep_dir, record in records:
        ids = [m["job_id"] for m in record["members"] if m.get("job_id")]
        states = job_states(sweep_dir, record.get("cluster", "slurm"), ids) if ids else {}
        for m in record["members"]:
            job = f"job {m['job_id']} {states.get(m['job_id'], 'unknown')}" if m.get("job_id") else ""
            swept = " ".join(f"{k}={m['overrides'][k]}" for k in record.get("grid") or {} if k in m["overrides"])
            label = m.get("label") or " ".join(x for x in (m["run"], swept) if x)
            out.setdefault(Path(m["run_dir"]).resolve(), Member(Path(m["run_dir"]), label, job))
    if not (folder / "sweep.json").is_file():
        for path in find_runs(folder):
            out.setdefault(path.resolve(), Member(path, os.path.relpath(path, folder)))
    if not out and not records:  # a sweep.json with no members (a suite of unchecked presets) is 0 members
        raise GroklabError(f"{folder}: no sweep.json and no run folders (config.json + metrics.jsonl) found")
    return list(out.values())


def latest(run: RunDir, kind: str) -> str:
    """The last logged train and validation metric (accuracy, or loss for regression)."""
    rows = run.rows(warn=False)
    row = rows[-1] if rows else {}
    keys = ("train/acc", "val/acc") if kind != "regression" and "train/acc" in row else ("train/loss", "val/loss")
    return "  ".join(f"{k}={v:.4g}" for k in keys if (v := finite(row.get(k))) is not None)


def line(member: Member) -> tuple[str, str]:
    """(status, one line) of a member."""
    state = member_state(member.run_dir)
    status = state["status"]
    run = RunDir(member.run_dir)
    summary = run.summary() if run.exists() and status != "damaged" else {}
    steps = f"{fmt_step(summary.get('steps', 0))}/{fmt_step(summary.get('total_steps'))}" if summary else DASH
    parts = [f"{status:<11}", f"{steps:>15}", latest(run, summary.get("kind", "")) if summary else ""]
    if status in ("completed", "diverged", "imported"):
        parts.append((summary.get("detection") or {}).get("verdict", "not detected"))
    parts += [member.job, member.label]
    if summary.get("error") and status in ("failed", "diverged", "interrupted"):
        parts.append(f"error: {error_line(summary['error'])}")
    return status, "  ".join(p for p in parts if p)


def status_lines(folder: Path) -> list[str]:
    """One line per member and a last line counting them per status."""
    pairs = [line(m) for m in members(folder)]
    counts = Counter(status for status, _ in pairs)
    total = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    return [text for _, text in pairs] + [f"{len(pairs)} members" + (f": {total}" if total else "")]
