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
    deadline = time.monotonic() + 300  # generous: the machine may be shared
    while not ((run / "checkpoints" / "latest.pt").exists() and len(read_lines(run / "metrics.jsonl")) >= 12):
        assert time.monotonic() < deadline, "the array task made no checkpoint in 300 s"
        time.sleep(0.05)
    (task,) = map(int, Path(f"/proc/{controller}/task/{controller}/children").read_text().split())
    os.kill(task, LocalJobEnvironment._usr_sig())
    while json.loads((run / "summary.json").read_text())["status"] != "completed":
        assert time.monotonic() < deadline + 300, "the requeued task did not finish in 300 s"
        time.sleep(0.2)
    steps = [json.loads(line)["step"] for line in read_lines(run / "metrics.jsonl")]
    assert steps == sorted(set(steps)) and steps[-1] == 2000
    log = "".join(p.read_text() for p in (path / "submitit").rglob("*_log.*"))
    assert "Requeued" in log, log[-2000:]


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def fake_slurm(folder: Path, squeue: str, sacct: str) -> None:
    """`squeue` and `sacct` scripts that print the given text (exit 1 when it starts with "!"), and log calls."""
    folder.mkdir()
    for name, text in (("squeue", squeue), ("sacct", sacct)):
        code, text = (1, text[1:]) if text.startswith("!") else (0, text)
        (folder / name).write_text(f"#!/bin/sh\necho {name} >> {folder}/calls\nprintf '%s' '{text}'\nexit {code}\n")
        (folder / name).chmod(0o755)


def test_states_come_from_squeue_then_sacct_and_a_disabled_accounting_is_silent(tmp_path, monkeypatch, capfd):
    from groklab.sweep.jobs import JobState, slurm_states

    bin_ = tmp_path / "bin"
    fake_slurm(bin_, "7_0|RUNNING|1:02\n7_1|PENDING|0:00\n9_0|COMPLETED|0:41\n",
               "!Slurm accounting storage is disabled")
    monkeypatch.setenv("PATH", f"{bin_}:{os.environ['PATH']}")
    assert slurm_states(["7_0", "7_1"]) == {"7_0": JobState("RUNNING", "1:02"), "7_1": JobState("PENDING", "0:00")}
    assert (bin_ / "calls").read_text() == "squeue\n"  # sacct is asked only for what squeue no longer lists
    assert slurm_states(["8_0"]) == {}  # forgotten by squeue, and no accounting: unknown, and nothing printed
    assert capfd.readouterr().err == ""

    bin2 = tmp_path / "bin2"
    fake_slurm(bin2, "!slurm_load_jobs error: Invalid job id specified", "8_0|CANCELLED by 0|0:07\n8_0.batch|x|y\n")
    monkeypatch.setenv("PATH", f"{bin2}:{os.environ['PATH']}")
    assert slurm_states(["8_0"]) == {"8_0": JobState("CANCELLED", "0:07")}


def test_waiting_ends_with_the_reason_a_task_failed(tmp_path, monkeypatch):
    from groklab.errors import GroklabError
    from groklab.sweep.jobs import wait_slurm

    bin_ = tmp_path / "bin"
    fake_slurm(bin_, "5_0|COMPLETED|0:10\n5_1|FAILED|0:03\n", "")
    monkeypatch.setenv("PATH", f"{bin_}:{os.environ['PATH']}")
    log = tmp_path / "sweep" / "submitit" / "5_1" / "5_1_0_log.err"
    log.parent.mkdir(parents=True)
    log.write_text("Traceback (most recent call last):\n  File x\ngroklab.errors.ConfigError: train.init_from='a': "
                   "no such file\nsrun: error: vm: task 0: Exited with exit code 1\n")
    with pytest.raises(GroklabError) as e:
        wait_slurm(tmp_path / "sweep", ["5_0", "5_1"])
    assert str(e.value) == f"array task 5_1 FAILED: ConfigError: train.init_from='a': no such file (log: {log})"
