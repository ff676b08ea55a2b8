"""Train a sweep's members on this machine, each into `<out>/<run name>` exactly where `groklab run --out <out>`
would put it (same config, same folder). Members that `groklab.engine` can vectorise train together (one group
per `group_key`) where that pays, on a GPU; the rest alone, each exactly as `groklab run` trains it. On a CPU the
units of work are spread over worker processes (`Layout`: workers x threads each). Every member's folder is locked
while it trains: a member that another process is training is skipped with a note, never trained twice.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from groklab.analysis.detect import detect_after_training
from groklab.config import RunConfig, memory_bytes
from groklab.engine import build_tasks, group_key, parameter_count, resolve_device, train_many, train_one, unsupported
from groklab.engine.common import DTYPES
from groklab.presets import detector_for
from groklab.runs import FINISHED, RunDir, finish, recording, start
from groklab.sweep.record import refresh
from groklab.tasks import TaskData

PROCESS_BYTES = 2**29  # what one worker process costs before its member: the interpreter, torch, groklab (~0.5 GiB)


@dataclass(frozen=True)
class Layout:
    """How a sweep uses the CPU: `workers` processes, each training one unit of work at a time on `threads`
    torch threads. workers == 1 trains in this process with its own thread count."""

    workers: int
    threads: int
    why: str

    def describe(self, members: int) -> str:
        if self.workers == 1:
            return f"sweep: {members} members in this process, {self.threads} torch thread(s) ({self.why})"
        return (f"sweep: {members} members on {self.workers} worker processes x {self.threads} torch thread(s) "
                f"each ({self.why})")


def choose_layout(units: int, cores: int, member_bytes: int, on_cpu: bool, workers: int | None = None) -> Layout:
    """Workers x threads for `units` units of work on `cores` CPU threads (torch's thread budget: every core by
    default, fewer under OMP_NUM_THREADS or SLURM's --cpus-per-task).

    The rule: one process per unit, up to one per core and as many as half the memory holds, the cores shared
    out evenly. A training step of these models is a chain of small GEMMs and elementwise ops whose threading
    stops paying long before one per core (benchmarks/RESULTS.md "Sweeps on a CPU"), so several single-threaded
    processes do more member-steps per second than one process with every thread. On a GPU everything trains in
    this process (one device; its vectorised groups are what fills it). `workers` (--workers N) overrides."""
    if workers is not None:
        n = max(1, min(workers, units))
        return Layout(n, max(1, cores // n), f"--workers {workers}")
    if not on_cpu:
        return Layout(1, cores, "the members train on a GPU")
    by_memory = max(1, memory_bytes() // 2 // max(member_bytes + PROCESS_BYTES, 1)) if memory_bytes() else cores
    n = max(1, min(units, cores, by_memory))
    why = ("one per unit of work" if n == units else "one per core" if n == cores else
           "as many as half the memory holds")
    return Layout(n, max(1, cores // n), f"{cores} cores, {units} unit(s) of work: {why}")


def machine_cores() -> int:
    """The cores this process may run on (SLURM's and taskset's limits included), whatever torch's thread count:
    the suite's presets are independent processes, so OMP_NUM_THREADS=1 means one thread per worker."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def member_bytes(cfg: RunConfig, task: TaskData) -> int:
    """About what one member takes: its model with gradients and optimizer moments, and its data."""
    data = sum(t.element_size() * t.numel() for t in (task.x_train, task.y_train, task.x_val, task.y_val))
    return 5 * parameter_count(cfg, task) * DTYPES[cfg.train.dtype].itemsize + data


def units_of_work(cfgs: list[RunConfig], tasks: list[TaskData], vectorize: bool | None) -> list[list[int]]:
    """Members grouped as they train: a vectorised group per `group_key`, or one member alone. vectorize None
    (auto) groups the members that train on a GPU only: on a CPU a vectorised group does the same FLOPs as its
    members one by one plus vmap's copies (benchmarks/RESULTS.md), while a member alone is `groklab run` itself."""
    units: dict[str, list[int]] = {}
    for i, (cfg, task) in enumerate(zip(cfgs, tasks, strict=True)):
        wanted = vectorize if vectorize is not None else resolve_device(cfg.train.device).type == "cuda"
        why = unsupported(cfg) if wanted else "--no-vectorize"
        if why is not None and wanted:
            print(f"groklab: note: {cfg.run_name} runs alone, not vectorised ({why})", file=sys.stderr)
        units.setdefault(group_key(cfg, task) if why is None else f"alone {i}", []).append(i)
    return list(units.values())


def execute_members(cfgs: list[RunConfig], tasks: list[TaskData], out: Path, vectorize: bool | None, command: str,
                    progress: bool = False, sweep_dir: Path | None = None, job: dict[str, str] | None = None,
                    workers: int | None = 1, cores: int | None = None) -> None:
    """Train members (fresh or resumed), unit by unit (`units_of_work`). workers=1 (the suite, SLURM array
    tasks) trains in this process; None chooses a `Layout` for this machine and prints it; N > 1 spreads the
    units over N worker processes. `job` (a SLURM array task's id and log files) goes into each member's
    summary.json as `slurm`. `cores`: the CPU threads to lay the workers out on (default torch's thread budget)."""
    units = units_of_work(cfgs, tasks, vectorize)
    if not units:
        return
    layout = Layout(1, torch.get_num_threads(), "in process")
    if workers != 1:
        on_cpu = all(resolve_device(c.train.device).type == "cpu" for c in cfgs)
        size = max(member_bytes(c, t) for c, t in zip(cfgs, tasks, strict=True))
        layout = choose_layout(len(units), cores or torch.get_num_threads(), size, on_cpu, workers)
        print(layout.describe(len(cfgs)), file=sys.stderr, flush=True)
    if layout.workers == 1:
        for index in units:
            _train_locked([cfgs[i] for i in index], [tasks[i] for i in index], out, command, progress, job)
            if sweep_dir is not None:
                refresh(sweep_dir)
        return
    # workers train quietly (their progress bars would overwrite each other); this process says what finished
    work = [([cfgs[i].to_dict() for i in index], str(out), command, False, job) for index in units]
    done = 0
    with multiprocessing.get_context("spawn").Pool(layout.workers, _worker_init, (layout.threads,)) as pool:
        for names in pool.imap_unordered(_train_unit, work):  # a worker's error is raised here; `with` ends the rest
            done += len(names)
            if progress:
                for name in names:
                    print(f"sweep: {name} {RunDir(out / name).status()} ({done}/{len(cfgs)})", file=sys.stderr,
                          flush=True)
            if sweep_dir is not None:
                refresh(sweep_dir)
        pool.close()
        pool.join()


_BUSY = False  # a worker is training a unit (its SIGTERM is then recorded as `interrupted`)


def _stop(signum: int, frame: Any) -> None:
    if _BUSY:
        raise KeyboardInterrupt
    os._exit(0)  # an idle worker at the pool's end: nothing to record


def _worker_init(threads: int) -> None:
    """A worker process: its thread budget, and a SIGTERM (the pool ending early) recorded as `interrupted`."""
    torch.set_num_threads(threads)
    signal.signal(signal.SIGTERM, _stop)
    os.environ["OMP_NUM_THREADS"] = str(threads)  # what its own subprocesses inherit


def _train_unit(args: tuple[list[dict[str, Any]], str, str, bool, dict[str, str] | None]) -> list[str]:
    """One unit of work in a worker: the configs come as dicts, the tasks are built again here (deterministic).
    Returns the members' run names."""
    global _BUSY
    dicts, out, command, progress, job = args
    cfgs = [RunConfig.from_dict(d) for d in dicts]
    _BUSY = True
    try:
        _train_locked(cfgs, build_tasks(cfgs), Path(out), command, progress, job)
    finally:
        _BUSY = False
    return [c.run_name for c in cfgs]


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
