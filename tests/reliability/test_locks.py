"""One process per run folder (issue 11): a second `--resume` or sweep on a folder in use is refused or skips it,
never trains it twice; a lock left by a killed process is gone with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from groklab.io import read_jsonl
from groklab.runs import RunDir, load_run

from .conftest import TINY


def tiny(*overrides: str) -> list[str]:
    """TINY with some keys replaced: a sweep refuses a key given twice."""
    keys = {o.split("=", 1)[0] for o in overrides}
    return [o for o in TINY if o.split("=", 1)[0] not in keys] + list(overrides)


LONG = tiny("train.steps=4000", "train.checkpoint_every=200", "train.eval_every=100")


def groklab(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "groklab.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def steps_once(path: Path) -> bool:
    steps = [r["step"] for r in read_jsonl(path / "metrics.jsonl").rows]
    return len(steps) == len(set(steps)) and steps == sorted(steps)


@pytest.mark.slow
def test_a_second_resume_is_refused_with_the_holders_pid(tmp_path):
    first = groklab("run", *LONG, "--out", str(tmp_path), "--quiet")
    wait_for(lambda: any(tmp_path.glob("*/metrics.jsonl")))
    run = next(tmp_path.iterdir())
    second = subprocess.run([sys.executable, "-m", "groklab.cli", "run", *LONG, "--out", str(tmp_path), "--resume",
                             "--quiet"], capture_output=True, text=True, timeout=120)
    assert second.returncode == 2
    assert second.stderr.strip() == (f"groklab: error: {run} is in use by process {first.pid} (another groklab run or "
                                     "sweep); wait for it to finish or stop it, then run again")
    assert first.wait(timeout=600) == 0, first.stderr.read()
    assert steps_once(run) and load_run(run).summary["status"] == "completed"


@pytest.mark.slow
def test_concurrent_sweeps_train_each_member_once(tmp_path):
    grid = ["sweep", *tiny("train.steps=600", "train.eval_every=50"), "optim.weight_decay=0.1,1", "seed=range(0,3)",
            "--out", str(tmp_path), "--resume", "--quiet"]
    a = groklab(*grid)
    b = groklab(*grid)
    codes = a.wait(timeout=600), b.wait(timeout=600)
    assert set(codes) <= {0, 1}, (codes, a.stderr.read(), b.stderr.read())
    again = subprocess.run([sys.executable, "-m", "groklab.cli", *grid], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr  # whatever a skipped member left, a third call finishes it
    record = json.loads(next(tmp_path.glob("sweep-*/sweep.json")).read_text())
    assert [m["status"] for m in record["members"]] == ["completed"] * 6
    for m in record["members"]:
        assert steps_once(Path(m["run_dir"]))


@pytest.mark.slow
def test_the_lock_of_a_killed_run_is_gone_with_it(tmp_path):
    proc = groklab("run", *LONG, "--out", str(tmp_path), "--quiet")
    wait_for(lambda: any(tmp_path.glob("*/checkpoints/latest.pt")))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    run = RunDir(next(tmp_path.iterdir()))
    assert run.summary()["status"] == "running" and not run.locked()
    assert run.status() == "interrupted" and load_run(run.path).summary["status"] == "interrupted"
    assert (run.path / ".lock").read_text().split()[0] == str(proc.pid)  # the file stays; the kernel's lock went
    done = subprocess.run([sys.executable, "-m", "groklab.cli", "run", *LONG, "--out", str(tmp_path), "--resume",
                           "--quiet"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert steps_once(run.path) and run.status() == "completed"


def test_lock_is_exclusive_within_and_across_processes(tmp_path):
    run = RunDir(tmp_path / "r")
    with run.lock():
        assert (run.path / ".lock").read_text().split()[0] == str(os.getpid())
        with run.try_lock() as got:
            assert not got  # flock is per open file: a second open in the same process is refused too
    with run.try_lock() as got:
        assert got
