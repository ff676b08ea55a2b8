"""`groklab status DIR...`: one line per member of sweep folders, suite folders or folders of run folders, and a
count per status — what one checked by hand with `squeue`/`sacct` and `ls checkpoints/`.

Members come from every sweep.json at or below each DIR (a suite records its arms as one sweep) plus every run
folder found there that no sweep lists (e.g. the tickets study's retraining runs); a run folder named twice (as a
DIR and as a sweep's member) is one member. A member's status is read through `runs` (a `running` folder whose
lock is free was killed: `interrupted`), so it works while jobs still train. Members submitted with
`--executor slurm` also show their array task: its id, SLURM's state and elapsed time (`groklab.sweep.jobs`), and
where the task did not complete, its log and the error it ended with.
"""

from __future__ import annotations

import glob
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groklab.analysis.tables import DASH, error_line, fmt_step
from groklab.errors import GroklabError
from groklab.io import finite
from groklab.runs import RunDir, find_runs
from groklab.sweep.jobs import JobState, job_states, last_error, log_paths
from groklab.sweep.record import member_state, read_record


@dataclass(frozen=True)
class Member:
    run_dir: Path
    label: str
    job_id: str = ""  # the array task `--executor slurm` recorded
    job: JobState | None = None  # what SLURM (or submitit's local cluster) says about it; None: no longer known
    log: Path | None = None  # the array task's stderr
    group: str = ""  # the sweep folder that lists it ("" for a run folder outside any sweep)


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


def sweep_members(sweep_dir: Path, record: dict[str, Any]) -> list[Member]:
    """A sweep's members with their array tasks' states (one squeue call per sweep)."""
    cluster = record.get("cluster", "slurm")
    states = job_states(sweep_dir, cluster, [m["job_id"] for m in record["members"] if m.get("job_id")])
    found = []
    for m in record["members"]:
        swept = " ".join(f"{k}={m['overrides'][k]}" for k in record.get("grid") or {} if k in m["overrides"])
        label = m.get("label") or " ".join(x for x in (m["run"], swept) if x)
        job_id = m.get("job_id", "")
        log = task_log(sweep_dir, Path(m["run_dir"]), job_id) if job_id else None
        found.append(Member(Path(m["run_dir"]), label, job_id, states.get(job_id), log, str(sweep_dir)))
    return found


def task_log(sweep_dir: Path, run_dir: Path, job_id: str) -> Path:
    """The stderr of the member's last array task: the path its summary.json records, else submitit's."""
    run = RunDir(run_dir)
    try:
        recorded = (run.summary().get("slurm") or {}).get("stderr") if run.exists() else None
    except GroklabError:
        recorded = None
    return Path(recorded) if recorded else log_paths(sweep_dir, job_id)[1]


def members(folder: Path) -> list[Member]:
    """The members of one folder (a sweep, a suite, or a folder of run folders)."""
    return collect([folder])


def collect(folders: list[Path]) -> list[Member]:
    """The members of several folders: every sweep's first, then run folders no sweep lists; each once."""
    for folder in folders:
        if not Path(folder).is_dir():
            raise GroklabError(f"{folder}: no such folder" if not Path(folder).exists() else f"{folder}: not a folder")
    out: dict[Path, Member] = {}
    records = [r for folder in folders for r in sweep_records(Path(folder))]
    for sweep_dir, record in records:
        for m in sweep_members(sweep_dir, record):
            out.setdefault(m.run_dir.resolve(), m)
    for folder in map(Path, folders):
        if (folder / "sweep.json").is_file():
            continue
        for path in find_runs(folder):
            label = os.path.relpath(path, folder) if path != folder else path.name
            out.setdefault(path.resolve(), Member(path, label))
    if not out and not records:  # a sweep.json with no members (a suite of unchecked presets) is 0 members
        where = str(folders[0]) if len(folders) == 1 else f"{len(folders)} folders"
        raise GroklabError(f"{where}: no sweep.json and no run folders (config.json + metrics.jsonl) found")
    return list(out.values())


def expand(paths: list[str | Path]) -> list[Path]:
    """The folders named, a quoted glob ('runs/sweep-*') expanded; files among a shell's expansion are skipped."""
    found: list[Path] = []
    for given in map(str, paths):
        matches = sorted(glob.glob(given)) if glob.has_magic(given) and not Path(given).exists() else [given]
        if not matches:
            raise GroklabError(f"{given}: no folder matches")
        found += [Path(p) for p in matches if len(paths) == 1 or not Path(p).is_file()]
    return found


def latest(run: RunDir, kind: str) -> str:
    """The last logged train and validation metric (accuracy, or loss for regression)."""
    rows = run.rows(warn=False)
    row = rows[-1] if rows else {}
    keys = ("train/acc", "val/acc") if kind != "regression" and "train/acc" in row else ("train/loss", "val/loss")
    return "  ".join(f"{k}={v:.4g}" for k in keys if (v := finite(row.get(k))) is not None)


def job_text(member: Member) -> str:
    """`job 123_4 RUNNING 0:41`; a task SLURM no longer lists (and no accounting remembers) says so."""
    if not member.job_id:
        return ""
    if member.job is None:
        gone = "ended (no longer listed)" if shutil.which("squeue") else "state unknown (no squeue here)"
        return f"job {member.job_id} {gone}"
    return f"job {member.job_id} {member.job}"


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
    parts += [job_text(member), member.label]
    error = summary.get("error") if status in ("failed", "diverged", "interrupted") else None
    task_ended_badly = member.job is not None and not member.job.active and member.job.state not in (
        "COMPLETED", "FINISHED")
    if not error and task_ended_badly and member.log is not None:
        error = last_error(member.log)
    if error:
        parts.append(f"error: {error_line(error)}")
    if member.log is not None and (task_ended_badly or status in ("failed", "interrupted")):
        parts.append(f"log: {member.log}")
    return status, "  ".join(p for p in parts if p)


def status_lines(folders: list[str | Path] | str | Path) -> list[str]:
    """One line per member (under a heading per sweep where there are several) and a last line counting them
    per status."""
    given = folders if isinstance(folders, list) else [folders]
    found = collect(expand(given))
    groups = list(dict.fromkeys(m.group for m in found))
    lines: list[str] = []
    counts: Counter[str] = Counter()
    for group in groups:
        pairs = [line(m) for m in found if m.group == group]
        counts.update(status for status, _ in pairs)
        if len(groups) > 1:
            lines.append(f"{group or 'run folders outside a sweep'}: {len(pairs)} members")
        lines += [text for _, text in pairs]
    total = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    return [*lines, f"{len(found)} members" + (f": {total}" if total else "")]
