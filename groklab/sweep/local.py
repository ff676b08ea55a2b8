"""Train a sweep's members in this process, each into `<out>/<run name>` exactly where `groklab run --out <out>`
would put it (same config, same folder): members that `groklab.engine` can vectorise train together, one group
per `group_key`; the rest one after another, with a printed note. Every member's folder is locked while it
trains: a member that another process is training is skipped with a note, never trained twice.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from groklab.analysis.detect import detect_after_training
from groklab.config import RunConfig
from groklab.engine import group_key, train_many, train_one, unsupported
from groklab.presets import detector_for
from groklab.runs import FINISHED, RunDir, finish, recording, start
from groklab.sweep.record import refresh
from groklab.tasks import TaskData


def execute_members(cfgs: list[RunConfig], tasks: list[TaskData], out: Path, vectorize: bool, command: str,
                    progress: bool = False, sweep_dir: Path | None = None, job: dict[str, str] | None = None) -> None:
    """Train members (fresh or resumed): vectorised groups first, then the rest one by one. `job` (a SLURM array
    task's id and log files) goes into each member's summary.json as `slurm`."""
    groups: dict[str, list[int]] = {}
    for i, (cfg, task) in enumerate(zip(cfgs, tasks, strict=True)):
        why = unsupported(cfg) if vectorize else "--no-vectorize"
        if why is not None and vectorize:
            print(f"groklab: note: {cfg.run_name} runs alone, not vectorised ({why})", file=sys.stderr)
        groups.setdefault(group_key(cfg, task) if why is None else f"alone {i}", []).append(i)
    for index in groups.values():
        _train_locked([cfgs[i] for i in index], [tasks[i] for i in index], out, command, progress, job)
        if sweep_dir is not None:
            refresh(sweep_dir)


def _train_locked(cfgs: list[RunConfig], tasks: list[TaskData], out: Path, command: str, progress: bool,
                  job: dict[str, str] | None = None) -> None:
    """Lock every member's folder, skip those held by another process or finished meanwhile, train the rest."""
    with contextlib.ExitStack() as stack:
        todo = []
        for cfg, task in zip(cfgs, tasks, strict=True):
            run = RunDir(out / cfg.run_name)
            if not stack.enter_context(run.try_lock()):
                print(f"groklab: note: {run.path} is being trained by process {run.holder()}; skipped",
                      file=sys.stderr)
            elif not (run.exists() and run.status() in FINISHED):
                todo.append((cfg, task, run))
        if not todo:
            return
        for cfg, task, run in todo:
            start(run, cfg, task, command)
            if job:
                run.write_summary(slurm=job)
        runs = [run for _, _, run in todo]
        with recording(runs):
            if len(todo) == 1:
                outcomes = [train_one(todo[0][0], runs[0], progress=progress, task=todo[0][1])]
            else:
                if progress:
                    print(f"sweep: training {len(todo)} members together (vectorised)", file=sys.stderr, flush=True)
                outcomes = train_many([c for c, _, _ in todo], runs, progress=progress, tasks=[t for _, t, _ in todo])
        for (cfg, _, run), outcome in zip(todo, outcomes, strict=True):
            finish(run, outcome.status, outcome.steps, outcome.error, outcome.stopped)
            detect_after_training(run.path, detector_for(cfg))
