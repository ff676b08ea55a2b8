"""--executor slurm through submitit's local executor: a 2-member job array end to end."""

import importlib.util
import json
import os
import time
from pathlib import Path

import pytest

from groklab.sweep import run_sweep

from .conftest import tiny_items

if importlib.util.find_spec("submitit") is None and not os.environ.get("CI"):
    pytest.skip("submitit is not installed (pip install 'groklab[slurm]')", allow_module_level=True)


def test_local_job_array_runs_members(tmp_path):
    path = run_sweep(None, [*tiny_items(**{"train.steps": "10"}), "seed=0,1"], out=tmp_path, executor="slurm",
                     slurm={"cluster": "local", "chunk_size": 1, "cpus_per_task": 1, "wait": True})
    record = json.loads((path / "sweep.json").read_text())
    assert [m["status"] for m in record["members"]] == ["completed"] * 2
    assert record["executor"] == "slurm"
    for m in record["members"]:
        assert json.loads((tmp_path / m["run"] / "summary.json").read_text())["steps"] == 10
    assert len([p for p in (path / "submitit").iterdir() if p.name != "%j"]) == 2  # one folder per array task


def test_preempted_array_task_is_requeued_and_resumes_from_its_checkpoint(tmp_path):
    """SLURM signals a task (USR2) before its time limit or on preemption; submitit then requeues the chunk,
    the member resumes from `checkpoints/latest.pt`, and its history holds each step once."""
    from submitit.local.local import LocalJobEnvironment

    items = [*tiny_items(**{"train.steps": "2000", "train.checkpoint_every": "100", "train.eval_every": "100"}),
             "seed=range(0,1)"]
    path = run_sweep(None, items, out=tmp_path, executor="slurm",
                     slurm={"cluster": "local", "cpus_per_task": 1, "wait": False})
    (member,) = json.loads((path / "sweep.json").read_text())["members"]
    run = tmp_path / member["run"]
    (controller,) = [int(p.name) for p in (path / "submitit").iterdir() if p.name.isdigit()]  # local job id = pid
    deadline = time.monotonic() + 120
    while not ((run / "checkpoints" / "latest.pt").exists() and len(read_lines(run / "metrics.jsonl")) >= 12):
        assert time.monotonic() < deadline, "the array task made no checkpoint in 120 s"
        time.sleep(0.05)
    (task,) = map(int, Path(f"/proc/{controller}/task/{controller}/children").read_text().split())
    os.kill(task, LocalJobEnvironment._usr_sig())
    while json.loads((run / "summary.json").read_text())["status"] != "completed":
        assert time.monotonic() < deadline + 120, "the requeued task did not finish in 120 s"
        time.sleep(0.2)
    steps = [json.loads(line)["step"] for line in read_lines(run / "metrics.jsonl")]
    assert steps == sorted(set(steps)) and steps[-1] == 2000
    log = "".join(p.read_text() for p in (path / "submitit").rglob("*_log.*"))
    assert "Requeued" in log, log[-2000:]


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []
