"""What SLURM says about a sweep's array tasks: state and elapsed time, the logs, and waiting for the end.

`squeue` answers while slurmctld still holds a task (running, pending, and ended ones for `MinJobAge`, 300 s by
default); `sacct` answers after that where the cluster keeps accounting, and is asked only for what squeue no
longer lists. A cluster without accounting storage (common on small ones) makes sacct fail: that is not an error
here, and nothing is printed for it (submitit's own watcher warns "Bypassing sacct error" on every poll, so it
is not used). submitit's local cluster (`cluster="local"`, the tests without SLURM) is asked through submitit.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from groklab.errors import GroklabError

# States in which a task still holds or waits for a node (squeue's names; PREEMPTED is followed by a requeue
# where the partition requeues, so it is not an end). Every other state is an end: COMPLETED, FAILED, CANCELLED,
# TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL, DEADLINE.
ACTIVE = frozenset({"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_FED",
                    "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "PREEMPTED"})
LOCAL_ACTIVE = frozenset({"RUNNING", "PENDING"})  # submitit's local cluster


@dataclass(frozen=True)
class JobState:
    state: str  # SLURM's state name (first word: sacct's "CANCELLED by 0" is CANCELLED)
    elapsed: str = ""  # SLURM's [D-]H:MM:SS

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def __str__(self) -> str:
        return f"{self.state} {self.elapsed}".strip()


def query(command: list[str]) -> list[list[str]]:
    """Rows of a `--parsable2`-style command's output split on `|`; none when it fails (accounting disabled,
    job ids SLURM has forgotten, no such command)."""
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return []
    if proc.returncode != 0:
        return []
    return [line.split("|") for line in proc.stdout.splitlines() if line.strip()]


def slurm_states(job_ids: list[str]) -> dict[str, JobState]:
    """{array task id ("123_4"): state} from squeue, then sacct for the ids squeue no longer lists."""
    wanted = set(job_ids)
    arrays = sorted({j.split("_")[0] for j in wanted})
    if not arrays or shutil.which("squeue") is None:
        return {}
    states: dict[str, JobState] = {}
    for job_id, state, elapsed in query(["squeue", "--noheader", "--array", "--states=all", "--format=%i|%T|%M",
                                         f"--jobs={','.join(arrays)}"]):
        if job_id in wanted:
            states[job_id] = JobState(state.split()[0], elapsed)
    gone = sorted({j.split("_")[0] for j in wanted - set(states)})
    if gone and shutil.which("sacct") is not None:
        for job_id, state, elapsed in query(["sacct", "--noheader", "--parsable2", "--allocations",
                                             "--format=JobID,State,Elapsed", f"--jobs={','.join(gone)}"]):
            if job_id in wanted and job_id not in states:
                states[job_id] = JobState(state.split()[0] if state else "UNKNOWN", elapsed)
    return states


def local_states(folder: Path, job_ids: list[str]) -> dict[str, JobState]:
    """submitit's local cluster: its own view of each job (FINISHED once the result is written)."""
    try:
        from submitit.local.local import LocalJob
    except ModuleNotFoundError:
        return {}
    return {job_id: JobState(str(LocalJob(folder=folder, job_id=job_id).state)) for job_id in sorted(set(job_ids))}


def job_states(sweep_dir: Path, cluster: str, job_ids: list[str]) -> dict[str, JobState]:
    """{job id: JobState} of the array tasks a sweep recorded; ids no one knows any more are left out."""
    if not job_ids:
        return {}
    if cluster == "local":
        return local_states(sweep_dir / "submitit" / "%j", job_ids)
    return slurm_states(job_ids)


def is_active(state: JobState | None, cluster: str) -> bool:
    return state is not None and state.state in (LOCAL_ACTIVE if cluster == "local" else ACTIVE)


def log_paths(sweep_dir: Path, job_id: str) -> tuple[Path, Path]:
    """(stdout, stderr) of an array task: submitit's `<sweep>/submitit/<job>/<job>_0_log.out|err`."""
    folder = sweep_dir / "submitit" / job_id
    return folder / f"{job_id}_0_log.out", folder / f"{job_id}_0_log.err"


EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*(?:Error|Exception|Interrupt|Exit)): ")
SLURM_END = re.compile(r"\*\*\* (?:JOB|STEP) \S+ ON \S+ (CANCELLED AT \S+(?: DUE TO [A-Z ]+)?)")


def last_error(path: Path) -> str:
    """Why a task ended, from its stderr: the exception that ended it (a traceback's last line, the class without
    its module), else slurmstepd's "CANCELLED ... DUE TO TIME LIMIT" line, else the last `error:` line; or ""."""
    if not path.is_file():
        return ""
    lines = [x.strip() for x in path.read_text(errors="replace").splitlines() if x.strip()]
    for pattern, shorten in ((EXCEPTION, True), (SLURM_END, False)):
        found = [(x, m) for x in lines if (m := pattern.search(x))]
        if found:
            x, m = found[-1]
            return (m.group(1) + x[m.end(1):] if shorten else m.group(1).strip())[:300]
    return next((x[:300] for x in reversed(lines) if "error" in x.lower()), "")


def wait_slurm(sweep_dir: Path, job_ids: list[str], poll_s: float = 2.0) -> dict[str, JobState]:
    """Block until no array task is pending or running (polling squeue every `poll_s`, less often as the wait
    grows), and raise in one line for the first task that did not complete, with the reason its log gives."""
    start = time.monotonic()
    while True:
        states = slurm_states(job_ids)
        if not any(j in states and states[j].active for j in job_ids):
            break
        time.sleep(min(poll_s * (1 + (time.monotonic() - start) / 60), 30))
    for job_id in job_ids:
        state = states.get(job_id)
        if state is not None and state.state != "COMPLETED":
            _, err = log_paths(sweep_dir, job_id)
            why = last_error(err)
            raise GroklabError(f"array task {job_id} {state.state}" + (f": {why}" if why else "") + f" (log: {err})")
    return states
