import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from groklab.io import load_tensors

from .cluster import missing, start, stop

TINY = {
    "task.op": "x+y", "task.p": "11", "model.d_model": "16", "model.n_heads": "2", "model.d_mlp": "32",
    "model.n_layers": "1", "train.steps": "40", "train.eval_every": "10", "train.checkpoint_every": "10",
    "train.log_checkpoints": "2", "train.batch_size": "16", "train.device": "cpu",
}
# one CPU per array task: the node has the machine's CPUs, and two tasks then train side by side
SLURM_ARGS = ["--executor", "slurm", "--cpus-per-task", "1", "--mem", "1G", "--partition", "debug", "--quiet"]


def items(**extra: str) -> list[str]:
    return [f"{k}={v}" for k, v in (TINY | extra).items()]


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A single-node SLURM (tests/slurm/cluster.py) for this session, stopped at its end. Where the packages
    are missing it is a skip; in CI (`.ci/run` installs them) a failure."""
    lacking = missing()
    why = (f"SLURM not installed ({', '.join(lacking)} missing): apt-get install -y slurm-wlm munge" if lacking
           else "starting slurmd and munged needs root" if os.geteuid() != 0 else "")
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"{why}, but CI is set: .ci/run installs them")
        pytest.skip(why)
    folder = tmp_path_factory.mktemp("slurm")
    env = start(folder)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield folder
        stop(folder)


def here(*args: str) -> None:
    """`groklab ARGS` on this machine, in a fresh process with one torch thread, as each array task has
    (--cpus-per-task 1): the reference the SLURM run folders must equal. A fresh process, because the pytest
    process is not one: float rounding in torch's CPU kernels can depend on how its tensors happened to be
    allocated, and that depends on what the process did before."""
    groklab = str(Path(sys.executable).with_name("groklab"))
    proc = subprocess.run([groklab, *args, "--quiet"], capture_output=True, text=True, timeout=600,
                          env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]


def slurm(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=True).stdout


def task_state(job_id: str) -> str:
    out = slurm("squeue", "--noheader", "--array", "--states=all", "--format=%i|%T|%r", f"--jobs={job_id}")
    return next((line.split("|", 1)[1] for line in out.splitlines() if line.startswith(job_id + "|")), "")


def wait_until(condition, what: str, timeout: float = 120, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what}: not after {timeout:.0f} s"
        time.sleep(poll)
    return value


def release_requeued(job_id: str) -> None:
    """SLURM holds a requeued batch task ~2 minutes (its begin time) before it may start again; the tests start it
    at once, as a free node would after that wait."""
    wait_until(lambda: task_state(job_id).startswith("PENDING"), f"{job_id} pending after its requeue", 60)
    slurm("scontrol", "update", f"JobId={job_id}", "StartTime=now")


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def without(d: dict, *keys: str) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


def identical(x, y) -> bool:
    """Equal to the bit: tensors by dtype, shape and values, containers item by item."""
    if isinstance(x, torch.Tensor):
        return isinstance(y, torch.Tensor) and x.dtype == y.dtype and x.shape == y.shape and torch.equal(x, y)
    if isinstance(x, dict):
        return isinstance(y, dict) and list(x) == list(y) and all(identical(x[k], y[k]) for k in x)
    if isinstance(x, list | tuple):
        return type(x) is type(y) and len(x) == len(y) and all(identical(u, v) for u, v in zip(x, y, strict=True))
    return x == y


def assert_same_run(a: Path, b: Path) -> None:
    """The run folders hold the same files, byte for byte, except what says when, where and by which command
    they ran: the `time` column of metrics.jsonl (and of summary.json's final row and latest.pt), env.json's start
    time and SLURM job id, summary.json's `slurm` (the array task and its logs), and command.txt."""
    names = [sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file() and p.name not in ("command.txt",
                                                                                              ".lock")) for d in (a, b)]
    assert names[0] == names[1]
    for name in names[0]:
        if name == "metrics.jsonl":
            assert [without(r, "time") for r in rows(a / name)] == [without(r, "time") for r in rows(b / name)]
        elif name == "summary.json":
            sa, sb = (json.loads((d / name).read_text()) for d in (a, b))
            assert without(sa, "slurm", "final") == without(sb, "slurm", "final")
            assert without(sa["final"] or {}, "time") == without(sb["final"] or {}, "time")
        elif name == "checkpoints/latest.pt":  # the resume state holds the run's clock beside its tensors
            ca, cb = (load_tensors(d / name) for d in (a, b))
            assert identical(without(ca, "time"), without(cb, "time")), name
        elif name == "env.json":
            ea, eb = (json.loads((d / name).read_text()) for d in (a, b))
            assert without(ea, "start_time", "slurm_job_id") == without(eb, "start_time", "slurm_job_id")
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
