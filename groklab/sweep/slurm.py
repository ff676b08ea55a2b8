"""`groklab sweep --executor slurm`: the unfinished members as one SLURM job array, through submitit.

Each array task trains one chunk of members (one vectorised group where they are compatible) into their
ordinary run folders. On timeout or preemption submitit calls `ChunkJob.checkpoint`, which resubmits the same
chunk: every member then resumes from its own `checkpoints/latest.pt` (run folders are the checkpoint, nothing
else needs pickling), finished members are skipped. submitit is an optional extra (`groklab[slurm]`) imported
only here; `cluster="local"` runs the same array on this machine (what the tests do).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from groklab.config import RunConfig
from groklab.engine import build_tasks, group_key, unsupported
from groklab.errors import GroklabError
from groklab.runs import prepare
from groklab.sweep.local import execute_members
from groklab.sweep.record import record_jobs, refresh
from groklab.sweep.summary import finished, write_summary
from groklab.tasks import TaskData


class ChunkJob:
    """One array task: submitit's checkpointing protocol (`__call__` + `checkpoint`)."""

    def __init__(self, configs: list[dict[str, Any]], out: str, sweep_dir: str, vectorize: bool, command: str):
        self.configs, self.out, self.sweep_dir = configs, out, sweep_dir
        self.vectorize, self.command = vectorize, command

    def __call__(self) -> list[str]:
        cfgs = [RunConfig.from_dict(d) for d in self.configs]
        tasks = build_tasks(cfgs)
        ready = [prepare(c, Path(self.out), resume=True, task=t) for c, t in zip(cfgs, tasks, strict=True)]
        todo = [i for i, p in enumerate(ready) if not p.done]  # a requeue skips the finished
        execute_members([cfgs[i] for i in todo], [tasks[i] for i in todo], Path(self.out), self.vectorize,
                        self.command, sweep_dir=Path(self.sweep_dir))
        record = refresh(Path(self.sweep_dir))
        if finished(record):  # the last array task to end writes the sweep's summary.md and report
            write_summary(Path(self.sweep_dir))
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


def make_executor(folder: Path, cluster: str = "slurm", chunk_size: int = 64) -> Any:
    """submitit's executor for `cluster`, or one line saying why there is none (no submitit, no srun here, a bad
    chunk size). Creates no file: callers run it before they write anything (`check_available`)."""
    try:
        import submitit
    except ModuleNotFoundError:
        raise GroklabError("--executor slurm needs submitit: pip install 'groklab[slurm]'") from None
    if chunk_size < 1:
        raise GroklabError(f"--chunk-size must be >= 1 (got {chunk_size})")
    try:
        return submitit.AutoExecutor(folder=folder, cluster=cluster)
    except RuntimeError as e:  # submitit's "Could not detect srun": not on a SLURM cluster
        raise GroklabError(f"--executor slurm: {e} (submit from the cluster, or use --executor local)") from None


def check_available(options: dict[str, Any] | None) -> None:
    """Refuse `--executor slurm` where it cannot submit, before a sweep or suite writes its record."""
    options = options or {}
    make_executor(Path(tempfile.gettempdir()) / "groklab-slurm-check", options.get("cluster", "slurm"),
                  options.get("chunk_size", 64))


def submit(cfgs: list[RunConfig], tasks: list[TaskData], out: Path, sweep_dir: Path, vectorize: bool, command: str,
           chunk_size: int = 64, timeout_min: int = 240, partition: str | None = None, gpus_per_task: int = 0,
           cpus_per_task: int = 4, wait: bool = False, cluster: str = "slurm") -> list[Any]:
    """Submit the members as a job array; with `wait`, block until it ends and raise if a task failed."""
    executor = make_executor(sweep_dir / "submitit" / "%j", cluster, chunk_size)
    params: dict[str, Any] = {"name": f"groklab-{sweep_dir.name}", "timeout_min": timeout_min,
                              "cpus_per_task": cpus_per_task, "slurm_array_parallelism": 256}
    if gpus_per_task:
        params["gpus_per_node"] = gpus_per_task
    if partition:
        params["slurm_partition"] = partition
    executor.update_parameters(**params)
    jobs = []
    parts = chunks(cfgs, tasks, chunk_size, vectorize)
    with executor.batch():
        for chunk in parts:
            jobs.append(executor.submit(ChunkJob([c.to_dict() for c in chunk], str(out.resolve()),
                                                 str(sweep_dir.resolve()), vectorize, command)))
    record_jobs(sweep_dir, cluster, {c.run_name: job.job_id for chunk, job in zip(parts, jobs, strict=True)
                                     for c in chunk})
    print(f"sweep: submitted {len(jobs)} array tasks ({len(cfgs)} members): {jobs[0].job_id.split('_')[0]}"
          f"; status in {sweep_dir / 'sweep.json'}", file=sys.stderr)
    if wait:
        wait_for(jobs)
    return jobs


def wait_for(jobs: list[Any]) -> None:
    """Block until every array task has ended; the first that failed raises, in one line."""
    for job in jobs:
        try:
            job.result()
        except Exception as e:  # submitit wraps the task's traceback
            raise GroklabError(f"array task {job.job_id} failed: {str(e).strip().splitlines()[-1]}") from None


def job_states(sweep_dir: Path, cluster: str, job_ids: list[str]) -> dict[str, str]:
    """{job id: state} as submitit reports it (sacct on SLURM; on the local cluster FINISHED once the result is
    written, else what it can tell from another process); {} without submitit."""
    try:
        import submitit
        from submitit.local.local import LocalJob
    except ModuleNotFoundError:
        return {}
    folder = sweep_dir / "submitit" / "%j"
    make = LocalJob if cluster == "local" else submitit.SlurmJob
    return {job_id: str(make(folder=folder, job_id=job_id).state) for job_id in sorted(set(job_ids))}
