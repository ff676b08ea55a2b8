"""`groklab suite`: every preset's claim, run and checked, one row per preset.

Each preset declares the runs its claim needs (`Preset.arms[scale]`), a study where the claim needs a workflow
(`Preset.study`) and the check (`Preset.check`). The suite plans every arm (config, task and model checked, as
`groklab run` does), records them as one sweep (`<out>/runs/sweep-<hash8>/sweep.json`, so `groklab status` follows
them), trains them through the sweep machinery (finished arms are skipped, interrupted ones resume, arms that share
shapes train together, `--executor slurm` submits a job array through submitit), runs the studies, and applies the
checks. A preset that cannot be planned, trained, studied or checked becomes a `failed to run` row with its error;
it never stops the others.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from groklab.config import RunConfig
from groklab.engine import build_tasks, check
from groklab.errors import GroklabError
from groklab.presets import get, registry
from groklab.presets.base import SCALES, Check, Preset, judge
from groklab.runs import FINISHED, Run, RunDir, check_out, check_writable, load_run, prepare
from groklab.studies.progress import fourier_progress
from groklab.studies.tickets import run_tickets
from groklab.sweep.local import execute_members, machine_cores
from groklab.sweep.record import refresh, write_record
from groklab.sweep.slurm import SlurmOptions, check_available
from groklab.sweep.spec import Sweep
from groklab.tasks import TaskData

EXECUTORS = ("local", "slurm")


@dataclass
class Entry:
    """One preset in a suite run: its arms' configs and tasks, what is left to train, and what went wrong."""

    preset: Preset
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)  # arm -> its overrides, for sweep.json
    configs: dict[str, RunConfig] = field(default_factory=dict)
    tasks: dict[str, TaskData] = field(default_factory=dict)
    todo: list[str] = field(default_factory=list)  # arms not finished yet
    error: str | None = None
    runs: dict[str, Run] = field(default_factory=dict)  # the runs the check read
    check: Check | None = None
    study: dict[str, Any] = field(default_factory=dict)


def message(e: BaseException) -> str:
    """One line for a row: a GroklabError's own text, else the exception's type and text."""
    text = str(e) if isinstance(e, GroklabError) else f"{type(e).__name__}: {e}"
    return " ".join(text.split())


def select(only: list[str] | None) -> list[Preset]:
    """The presets to run, in registry order: all, or those named (an unknown name is a one-line error)."""
    if not only:
        return list(registry().values())
    wanted = {get(name).name for name in only}
    return [p for p in registry().values() if p.name in wanted]


def plan_entry(preset: Preset, scale: str, runs_dir: Path, arms: list[str] | None = None) -> Entry:
    """Resolve and check every arm (or the named ones) before anything is written; a failure is the entry's
    error, not raised."""
    entry = Entry(preset, {a.name: {k: str(v) for k, v in a.overrides.items()} for a in preset.arms.get(scale, ())})
    if preset.check is None:  # nothing to check: its runs would be trained for nothing
        return entry
    try:
        entry.configs = {a: c for a, c in preset.configs(scale).items() if arms is None or a in arms}
        tasks = build_tasks(list(entry.configs.values()))
        for (arm, cfg), task in zip(entry.configs.items(), tasks, strict=True):
            entry.tasks[arm] = check(cfg, task)
            prepared = prepare(cfg, runs_dir, resume=True, task=task)
            if not prepared.done and not prepared.run.locked():  # a locked arm trains elsewhere right now
                entry.todo.append(arm)
    except Exception as e:  # a missing extra, a data set that is not there, a bad preset: this row only
        entry.error = message(e)
    return entry


def plan(scale: str, only: list[str] | None, out: Path | str) -> tuple[Path, list[Entry]]:
    """Check the command's input (one line and nothing written when it is wrong), then plan every preset."""
    if scale not in SCALES:
        raise GroklabError(f"--scale {scale!r}: expected one of {', '.join(SCALES)}")
    presets = select(only)
    out = check_out(out)
    check_writable(out)
    return out, [plan_entry(p, scale, out / "runs") for p in presets]


def record(entries: list[Entry], runs_dir: Path, executor: str, command: str) -> Sweep:
    """Every arm of every planned preset as one sweep record (an arm shared by two presets is one member)."""
    members: dict[str, tuple[dict[str, str], RunConfig, TaskData, list[str]]] = {}
    for entry in entries:
        for arm, cfg in entry.configs.items() if entry.error is None else ():
            labels = members.setdefault(cfg.run_name, (entry.overrides[arm], cfg, entry.tasks[arm], []))[3]
            labels.append(f"{entry.preset.name}/{arm}")
    sweep = Sweep(None, {}, {}, [(o, c) for o, c, _, _ in members.values()], runs_dir,
                  [t for _, _, t, _ in members.values()], tuple(", ".join(m[3]) for m in members.values()))
    write_record(sweep, command, executor, vectorize=True)
    return sweep


def train_local(entries: list[Entry], runs_dir: Path, command: str, progress: bool,
                sweep_dir: Path | None = None) -> None:
    """Train the presets' unfinished arms (vectorised where shapes match). Several presets train together, their
    units of work spread over this machine's cores; if that raises, or for one preset, they train preset by
    preset in this process, so a preset whose training raises keeps the error (its runs record `failed`) and the
    next goes on."""
    if len(pending(entries, runs_dir)) > 1:
        arms = {e.configs[a].run_name: (e.configs[a], e.tasks[a]) for e in pending(entries, runs_dir) for a in e.todo}
        try:
            execute_members([c for c, _ in arms.values()], [t for _, t in arms.values()], runs_dir, True, command,
                            progress, sweep_dir, workers=None, cores=machine_cores())
        except Exception as e:  # attributed to its preset below, where that preset trains again alone
            print(f"groklab: note: {message(e)}; training the unfinished presets one by one", file=sys.stderr)
    for entry in pending(entries, runs_dir):
        if progress:
            print(f"suite: {entry.preset.name}: training {', '.join(entry.todo)}", file=sys.stderr, flush=True)
        try:
            execute_members([entry.configs[a] for a in entry.todo], [entry.tasks[a] for a in entry.todo],
                            runs_dir, True, command, progress, sweep_dir)
        except Exception as e:
            entry.error = message(e)


def pending(entries: list[Entry], runs_dir: Path) -> list[Entry]:
    """The entries with arms left to train (an arm two presets share trains once)."""
    for entry in entries:
        entry.todo = [a for a in entry.todo if not finished_dir(runs_dir / entry.configs[a].run_name)]
    return [e for e in entries if e.error is None and e.todo]


def train_slurm(entries: list[Entry], sweep: Sweep, command: str, slurm: SlurmOptions) -> None:
    """Submit every unfinished arm as one job array (a submission that fails is the command's one-line error),
    except arms whose array task is still queued or running; `wait` blocks until it ends, and a failed array
    task is reported on stderr and shows in its members' rows."""
    from groklab.sweep.slurm import note_queued, queued_members, submit, wait_for

    queued = queued_members(sweep.path)
    note_queued(queued)
    todo: dict[str, tuple[RunConfig, TaskData]] = {}
    for entry in entries:
        for arm in entry.todo if entry.error is None else ():
            if entry.configs[arm].run_name not in queued:
                todo[entry.configs[arm].run_name] = (entry.configs[arm], entry.tasks[arm])
    if not todo:
        return
    jobs = submit([c for c, _ in todo.values()], [t for _, t in todo.values()], sweep.out, sweep.path, True, command,
                  replace(slurm, wait=False))
    try:
        if slurm.wait:
            wait_for(jobs, sweep.path, slurm.cluster)
    except GroklabError as e:
        print(f"groklab: warning: {e}", file=sys.stderr)


def gather(entry: Entry, scale: str, runs_dir: Path, progress: bool) -> None:
    """Load the arms' runs and run the preset's study when every arm has finished (else they stay pending)."""
    paths = {arm: runs_dir / cfg.run_name for arm, cfg in entry.configs.items()}
    entry.runs = {arm: load_run(p) for arm, p in paths.items() if RunDir(p).exists()}
    study = entry.preset.study
    if study is None or len(entry.runs) < len(paths) or not all(finished_ok(r) for r in entry.runs.values()):
        return
    options = dict(study.options.get(scale, {}))
    if study.kind == "tickets":
        report = run_tickets(entry.configs[study.arm], out=runs_dir, progress=progress, **options)
        entry.runs = {name: load_run(path) for name, path in report["runs"].items()}
        entry.study = report
    else:
        record, rows = fourier_progress(paths[study.arm], progress=progress, **options)
        entry.study = {"record": record, "rows": rows}


def finished_dir(path: Path) -> bool:
    run = RunDir(path)
    return run.exists() and run.status() in FINISHED


def finished_ok(run: Run) -> bool:
    return run.summary.get("status") in FINISHED


def evaluate(entry: Entry, scale: str, runs_dir: Path, progress: bool) -> None:
    """Study and check one preset; any error is the entry's, never raised."""
    if entry.error is not None or not entry.configs:
        return
    try:
        gather(entry, scale, runs_dir, progress)
        complete = len(entry.runs) >= len(entry.configs) and all(finished_ok(r) for r in entry.runs.values())
        if complete and entry.preset.check is not None:
            outcome = judge(entry.preset.check, entry.runs, entry.study)
            entry.check = outcome.check
            if outcome.status == "failed to run":  # the check raised on these runs: this row only
                entry.error = outcome.reason
    except Exception as e:
        entry.error = message(e)


def claim(name: str, out: Path | str, scale: str = "ci", arms: list[str] | None = None,
          progress: bool = False) -> Entry:
    """One preset's claim through the suite's own steps (plan, train locally, study, check) into `<out>/runs`:
    what the claim tests call, so that they and `groklab suite` assert the same thing."""
    runs_dir = Path(out) / "runs"
    entry = plan_entry(get(name), scale, runs_dir, arms)
    if entry.error is None:
        runs_dir.mkdir(parents=True, exist_ok=True)
    train_local([entry], runs_dir, f"groklab suite --only {name} (claim)", progress)
    evaluate(entry, scale, runs_dir, progress)
    return entry


def run_suite(scale: str = "ci", only: list[str] | None = None, executor: str = "local", out: Path | str = "suite",
              progress: bool = False, command: str = "groklab suite",
              slurm: SlurmOptions | dict[str, Any] | None = None
              ) -> tuple[Path, list[Entry], dict[str, Any]]:
    """Plan, train, study and check; returns (out folder, entries, timing). `groklab.suite.page` writes the
    files."""
    if executor not in EXECUTORS:
        raise GroklabError(f"--executor {executor!r}: expected local or slurm")
    options = check_available(slurm) if executor == "slurm" else SlurmOptions()
    start, cpu = time.monotonic(), time.process_time()
    out, entries = plan(scale, only, out)
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    sweep = record(entries, runs_dir, executor, command)
    if executor == "slurm":
        train_slurm(entries, sweep, command, options)
    else:
        train_local(entries, runs_dir, command, progress, sweep.path)
    for entry in entries:
        evaluate(entry, scale, runs_dir, progress)
    refresh(sweep.path)
    return out, entries, {"wall_s": round(time.monotonic() - start, 1), "cpu_s": round(time.process_time() - cpu, 1),
                          "sweep": str(sweep.path)}
