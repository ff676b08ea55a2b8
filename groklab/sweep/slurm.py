"""`groklab sweep --executor slurm`: the unfinished members as one SLURM job array, through submitit.

Path: the sweep's members are cut into chunks (one vectorised group where they are compatible); submitit pickles
one `ChunkJob` per chunk and submits them with one `sbatch --array`; each array task unpickles its ChunkJob on the
node, with the submitting machine's Python, and trains its members into their ordinary run folders, which are
the checkpoint: nothing else is pickled back. Before anything is written, `check_available` asks
`sbatch --test-only` with the same options, so a partition, account or resource request that SLURM refuses is one
line with SLURM's own reason.

Preemption and the time limit: SLURM signals a task (USR2, `signal_delay_s` before its time limit); submitit
calls `ChunkJob.checkpoint`, which requeues the same chunk, and every member resumes from its own
`checkpoints/latest.pt` (rows after it are dropped, so none is written twice). A task requeued or cancelled by
someone else (`scontrol requeue`, preemption) is killed without that signal; its members' folders show them
`interrupted`, and the requeued task (or a second `groklab sweep ... --resume`) resumes them the same way.
submitit is an optional extra (`groklab[slurm]`) imported only here; `cluster="local"` runs the same array on
this machine through submitit's local executor.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groklab.config import RunConfig
from groklab.engine import build_tasks, group_key, unsupported
from groklab.errors import GroklabError
from groklab.runs import prepare, stored_config
from groklab.sweep.jobs import JobState, is_active, job_states, wait_slurm
from groklab.sweep.local import execute_members
from groklab.sweep.record import read_record, record_jobs, refresh
from groklab.sweep.summary import finished, write_summary
from groklab.tasks import TaskData

# sbatch options that groklab sets itself or that have their own flag: `--slurm KEY=VALUE` may not name them
RESERVED = {"time": "--time-min", "partition": "--partition", "cpus-per-task": "--cpus-per-task",
            "gpus-per-task": "--gpus-per-task", "mem": "--mem", "account": "--account", "qos": "--qos",
            "array": "groklab makes the array", "job-name": "groklab names the job",
            "output": "submitit writes the logs", "error": "submitit writes the logs",
            "open-mode": "submitit writes the logs", "signal": "groklab sets the requeue signal",
            "wrap": "groklab writes the batch script"}
KEY = re.compile(r"[a-z][a-z0-9-]*")


@dataclass(frozen=True)
class SlurmOptions:
    """`--executor slurm`'s options; each named one is an sbatch option, `extra` holds `--slurm KEY[=VALUE]`."""

    chunk_size: int = 64  # members per array task
    time_min: int = 240  # sbatch --time of a task; requeued at it
    partition: str | None = None
    cpus_per_task: int = 4
    gpus_per_task: int = 0
    mem: str | None = None  # SLURM's syntax: 8G, 500M
    account: str | None = None
    qos: str | None = None
    extra: tuple[tuple[str, str | bool], ...] = ()
    wait: bool = False  # block until the array has ended
    cluster: str = "slurm"  # "local": submitit's local executor (tests on a machine without SLURM)

    def __post_init__(self) -> None:
        for name, least in (("chunk_size", 1), ("time_min", 1), ("cpus_per_task", 1), ("gpus_per_task", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < least:
                raise GroklabError(f"--{name.replace('_', '-')} {value}: expected a whole number >= {least}")
        for name in ("partition", "mem", "account", "qos"):
            if getattr(self, name) is not None and not str(getattr(self, name)).strip():
                raise GroklabError(f"--{name} is empty")
        for key, _ in self.extra:
            if key in RESERVED:
                raise GroklabError(f"--slurm {key}=...: set it with {RESERVED[key]}" if RESERVED[key].startswith("--")
                                   else f"--slurm {key}=...: {RESERVED[key]}")
            if not KEY.fullmatch(key):
                raise GroklabError(f"--slurm {key!r}: expected an sbatch option name such as constraint or exclusive")
        if self.cluster not in ("slurm", "local"):
            raise GroklabError(f"cluster {self.cluster!r}: expected slurm or local")

    def sbatch(self) -> dict[str, Any]:
        """The sbatch options (long names, without `--`) other than `--time`, which submitit sets."""
        named = {"partition": self.partition, "cpus-per-task": self.cpus_per_task,
                 "gpus-per-task": self.gpus_per_task or None, "mem": self.mem, "account": self.account,
                 "qos": self.qos}
        return {k: v for k, v in named.items() if v is not None} | dict(self.extra)


def slurm_options(given: SlurmOptions | dict[str, Any] | None) -> SlurmOptions:
    if isinstance(given, SlurmOptions):
        return given
    try:
        return SlurmOptions(**(given or {}))
    except TypeError as e:
        raise GroklabError(f"slurm options: {e}") from None


def parse_extra(items: list[str]) -> tuple[tuple[str, str | bool], ...]:
    """`--slurm constraint=a100 --slurm exclusive` -> (("constraint", "a100"), ("exclusive", True))."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        pairs.append((key.strip().lstrip("-").replace("_", "-"), value if sep else True))
    return tuple(pairs)


def signal_delay_s(time_min: int) -> int:
    """Seconds before the time limit at which SLURM sends USR2 (submitit's 90, or half of a short limit: SLURM
    checks limits only every ~15-30 s)."""
    return min(90, 30 * time_min)


def make_executor(folder: Path, cluster: str = "slurm") -> Any:
    """submitit's executor for `cluster`, or one line saying why there is none (no submitit, no SLURM here).
    Creates no file: callers run it before they write anything (`check_available`)."""
    try:
        import submitit
    except ModuleNotFoundError:
        raise GroklabError("--executor slurm needs submitit: pip install 'groklab[slurm]'") from None
    if cluster == "slurm" and shutil.which("sbatch") is None:
        raise GroklabError("--executor slurm: no sbatch on PATH (submit from a SLURM login node, or use "
                           "--executor local)")
    try:
        return submitit.AutoExecutor(folder=folder, cluster=cluster)
    except RuntimeError as e:  # submitit's "Could not detect srun": not on a SLURM cluster
        raise GroklabError(f"--executor slurm: {e} (submit from the cluster, or use --executor local)") from None


def check_available(given: SlurmOptions | dict[str, Any] | None) -> SlurmOptions:
    """Refuse `--executor slurm` where it cannot submit, before a sweep or suite writes its record: bad options,
    no submitit or sbatch, or a job SLURM would refuse (`sbatch --test-only` with the same options)."""
    opts = slurm_options(given)
    make_executor(Path(tempfile.gettempdir()) / "groklab-slurm-check", opts.cluster)
    if opts.cluster == "slurm":
        flags = [f"--{k}" if v is True else f"--{k}={v}" for k, v in opts.sbatch().items()]
        proc = subprocess.run(["sbatch", "--test-only", f"--time={opts.time_min}", *flags, "--wrap", "true"],
                              capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir())
        if proc.returncode != 0:
            raise GroklabError(f"--executor slurm: SLURM refused the job ({' '.join(flags)} --time={opts.time_min})"
                               f": {reason(proc.stderr or proc.stdout)}")
    return opts


def reason(text: str) -> str:
    """sbatch's error lines as one line, without the `sbatch: error: ` prefixes."""
    lines = [re.sub(r"^(sbatch: )?(error: )?", "", x.strip()) for x in text.splitlines()]
    return "; ".join(x for x in lines if x and not x.startswith("Try ")) or "no reason given"


def job_record() -> dict[str, str]:
    """This array task's id and log files, for its members' summary.json (empty outside a submitit job)."""
    import submitit

    try:
        env = submitit.JobEnvironment()
        return {"job_id": env.job_id, "stdout": str(env.paths.stdout), "stderr": str(env.paths.stderr)}
    except (RuntimeError, KeyError):
        return {}


class ChunkJob:
    """One array task: submitit's checkpointing protocol (`__call__` + `checkpoint`)."""

    def __init__(self, configs: list[dict[str, Any]], out: str, sweep_dir: str, vectorize: bool, command: str):
        self.configs, self.out, self.sweep_dir = configs, out, sweep_dir
        self.vectorize, self.command = vectorize, command

    def __call__(self) -> list[str]:
        import torch

        if os.environ.get("SLURM_CPUS_PER_TASK", "").isdigit():  # the CPUs SLURM gave, not the node's
            torch.set_num_threads(int(os.environ["SLURM_CPUS_PER_TASK"]))
        cfgs = [stored_config(d) for d in self.configs]
        tasks = build_tasks(cfgs)
        todo, errors = [], []
        for cfg, task in zip(cfgs, tasks, strict=True):  # a member that cannot start does not stop the others
            try:
                if not prepare(cfg, Path(self.out), resume=True, task=task).done:  # a requeue skips the finished
                    todo.append((cfg, task))
            except GroklabError as e:
                errors.append(f"{cfg.run_name}: {e}")
        execute_members([c for c, _ in todo], [t for _, t in todo], Path(self.out), self.vectorize, self.command,
                        sweep_dir=Path(self.sweep_dir), job=job_record())
        record = refresh(Path(self.sweep_dir))
        if finished(record):  # the last array task to end writes the sweep's summary.md and report
            write_summary(Path(self.sweep_dir))
        if errors:
            raise GroklabError("; ".join(errors))
        names = {c.run_name for c in cfgs}
        return [m["status"] for m in record["members"] if m["run"] in names]

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """Requeue the same chunk; the members' latest.pt files carry the state."""
        import submitit

        return submitit.helpers.DelayedSubmission(self, *args, **kwargs)


def chunks(cfgs: list[RunConfig], tasks: list[TaskData], size: int, vectorize: bool) -> list[list[RunConfig]]:
    """Chunks of at most `size` members, each within one vectorised group where possible."""
    groups: dict[str, list[RunConfig]] = {}
    for c, t in zip(cfgs, tasks, strict=True):
        key = group_key(c, t) if vectorize and unsupported(c) is None else "alone"
        groups.setdefault(key, []).append(c)
    return [g[i : i + size] for g in groups.values() for i in range(0, len(g), size)]


def queued_members(sweep_dir: Path) -> dict[str, tuple[str, JobState]]:
    """{run name: (job id, state)} of a sweep's members whose array task is still pending or running: a second
    call must not submit them again."""
    if not (sweep_dir / "sweep.json").is_file():
        return {}
    record = read_record(sweep_dir)
    cluster = record.get("cluster", "slurm")
    jobs = {m["run"]: m["job_id"] for m in record["members"] if m.get("job_id")}
    states = job_states(sweep_dir, cluster, list(jobs.values()))
    return {run: (job, states[job]) for run, job in jobs.items() if is_active(states.get(job), cluster)}


def note_queued(queued: dict[str, tuple[str, JobState]]) -> None:
    if queued:
        tasks = sorted({f"{job} {state.state}" for job, state in queued.values()})
        print(f"sweep: {len(queued)} members still queued or running on SLURM, not submitted again "
              f"({', '.join(tasks[:4])}{' ...' if len(tasks) > 4 else ''})", file=sys.stderr)


def submit(cfgs: list[RunConfig], tasks: list[TaskData], out: Path, sweep_dir: Path, vectorize: bool, command: str,
           slurm: SlurmOptions | dict[str, Any] | None = None) -> list[Any]:
    """Submit the members as a job array; with `wait`, block until it ends and raise if a task failed."""
    opts = slurm_options(slurm)
    executor = make_executor(sweep_dir / "submitit" / "%j", opts.cluster)
    params: dict[str, Any] = {"name": f"groklab-{sweep_dir.name}", "timeout_min": opts.time_min}
    if opts.cluster == "slurm":
        params |= {"slurm_signal_delay_s": signal_delay_s(opts.time_min), "slurm_array_parallelism": 256,
                   "slurm_additional_parameters": opts.sbatch()}
    else:
        params |= {"cpus_per_task": opts.cpus_per_task}
    executor.update_parameters(**params)
    parts = chunks(cfgs, tasks, opts.chunk_size, vectorize)
    try:
        with executor.batch():
            jobs = [executor.submit(ChunkJob([c.to_dict() for c in chunk], str(out.resolve()),
                                             str(sweep_dir.resolve()), vectorize, command)) for chunk in parts]
    except Exception as e:  # sbatch refused what --test-only accepted (the cluster changed in between)
        raise GroklabError(f"--executor slurm: sbatch failed: {reason(str(e))}") from None
    record_jobs(sweep_dir, opts.cluster, {c.run_name: job.job_id for chunk, job in zip(parts, jobs, strict=True)
                                          for c in chunk})
    print(f"sweep: submitted {len(jobs)} array tasks ({len(cfgs)} members): {jobs[0].job_id.split('_')[0]}"
          f"; groklab status {sweep_dir}", file=sys.stderr)
    if opts.wait:
        wait_for(jobs, sweep_dir, opts.cluster)
    return jobs


def wait_for(jobs: list[Any], sweep_dir: Path, cluster: str = "slurm") -> None:
    """Block until every array task has ended; the first that did not complete raises, in one line."""
    if cluster == "slurm":
        wait_slurm(sweep_dir, [job.job_id for job in jobs])
        return
    for job in jobs:  # submitit's local cluster: its job objects hold the processes
        try:
            job.result()
        except Exception as e:  # submitit wraps the task's traceback
            raise GroklabError(f"array task {job.job_id} failed: {str(e).strip().splitlines()[-1]}") from None

