"""Run (or continue) a sweep: plan, check, record, then train locally or submit to SLURM."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

from groklab.errors import ConfigError
from groklab.runs import check_out, check_writable, prepare
from groklab.sweep.local import execute_members
from groklab.sweep.record import refresh, write_record
from groklab.sweep.slurm import SlurmOptions, check_available, note_queued, queued_members, submit
from groklab.sweep.spec import plan
from groklab.sweep.summary import finished, write_summary

EXECUTORS = ("local", "slurm")


def run_sweep(preset: str | None, items: list[str], out: Path | str = "runs", executor: str = "local",
              vectorize: bool | None = None, resume: bool = False, progress: bool = False, command: str | None = None,
              slurm: SlurmOptions | dict[str, Any] | None = None, workers: int | None = None) -> Path:
    """Run (or continue) a sweep and return its folder `<out>/sweep-<hash8>`.

    executor="slurm" submits the unfinished members as a job array through submitit (`slurm`: see
    `groklab.sweep.slurm.SlurmOptions`), except those whose array task is still queued or running; "local" trains
    them on this machine: vectorised groups where `vectorize` (None: on a GPU only), spread over `workers` worker
    processes (None: chosen for the machine and printed, `groklab.sweep.local.choose_layout`).
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor {executor!r}: expected local or slurm")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: expected at least 1")
    sweep = plan(preset, items, check_out(out))
    check_writable(sweep.out)
    queued = queued_members(sweep.path) if executor == "slurm" else {}
    ready = [prepare(c, sweep.out, resume=resume or c.run_name in queued, task=t)
             for c, t in zip(sweep.configs, sweep.tasks, strict=True)]
    # every refusal happens here, before anything is written
    todo = [i for i, p in enumerate(ready) if not p.done and sweep.configs[i].run_name not in queued]
    if todo and executor == "slurm":
        slurm = check_available(slurm)
    command = command or "groklab sweep " + " ".join(shlex.quote(a) for a in [*([preset] if preset else []), *items])
    write_record(sweep, command, executor, vectorize)
    done = sum(p.done for p in ready)
    if done:
        print(f"sweep: {done} of {len(sweep.members)} members already finished, skipped", file=sys.stderr)
    note_queued(queued)
    cfgs, tasks = [sweep.configs[i] for i in todo], [sweep.tasks[i] for i in todo]
    if cfgs and executor == "slurm":
        submit(cfgs, tasks, sweep.out, sweep.path, vectorize is not False, command, slurm)  # array tasks: groups
    elif cfgs:
        execute_members(cfgs, tasks, sweep.out, vectorize, command, progress, sweep.path, workers=workers)
    if finished(refresh(sweep.path)) and not (executor == "slurm" and (sweep.path / "summary.md").is_file()):
        write_summary(sweep.path)  # (the last array task wrote it already)
    return sweep.path
