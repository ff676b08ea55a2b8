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
from groklab.sweep.spec import plan
from groklab.sweep.summary import finished, write_summary

EXECUTORS = ("local", "slurm")


def run_sweep(preset: str | None, items: list[str], out: Path | str = "runs", executor: str = "local",
              vectorize: bool = True, resume: bool = False, progress: bool = False, command: str | None = None,
              slurm: dict[str, Any] | None = None) -> Path:
    """Run (or continue) a sweep and return its folder `<out>/sweep-<hash8>`.

    executor="slurm" submits the unfinished members as a job array through submitit (`slurm` options:
    see `groklab.sweep.slurm.submit`); "local" trains them in this process.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor {executor!r}: expected local or slurm")
    sweep = plan(preset, items, check_out(out))
    check_writable(sweep.out)
    ready = [prepare(c, sweep.out, resume=resume, task=t) for c, t in zip(sweep.configs, sweep.tasks, strict=True)]
    todo = [i for i, p in enumerate(ready) if not p.done]  # every refusal happens here, before anything is written
    if todo and executor == "slurm":
        from groklab.sweep.slurm import check_available

        check_available(slurm)
    command = command or "groklab sweep " + " ".join(shlex.quote(a) for a in [*([preset] if preset else []), *items])
    write_record(sweep, command, executor, vectorize)
    if len(todo) < len(sweep.members):
        print(f"sweep: {len(sweep.members) - len(todo)} of {len(sweep.members)} members already finished, skipped",
              file=sys.stderr)
    cfgs, tasks = [sweep.configs[i] for i in todo], [sweep.tasks[i] for i in todo]
    if cfgs and executor == "slurm":
        from groklab.sweep.slurm import submit

        submit(cfgs, tasks, sweep.out, sweep.path, vectorize, command, **(slurm or {}))
    elif cfgs:
        execute_members(cfgs, tasks, sweep.out, vectorize, command, progress, sweep.path)
    if finished(refresh(sweep.path)):
        write_summary(sweep.path)
    return sweep.path


