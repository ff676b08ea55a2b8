"""A run killed at any moment (kill -9) resumes to the same metrics.jsonl as an uninterrupted run."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from groklab.io import read_jsonl
from groklab.runs import load_run

ARGS = ["task.op=x-y", "task.p=11", "model.d_model=16", "model.n_heads=2", "model.d_mlp=32", "train.steps=1500",
        "train.batch_size=16", "train.eval_every=25", "train.checkpoint_every=100", "train.log_checkpoints=5"]


def groklab(*args: str) -> subprocess.Popen:
    # The machine's default thread count: resume must replay the history bitwise however many threads run.
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    return subprocess.Popen([sys.executable, "-m", "groklab.cli", "run", *ARGS, "--quiet", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def rows_in(out: Path) -> int:
    return sum(len(read_jsonl(p).rows) for p in out.glob("*/metrics.jsonl"))


def without_time(path: Path) -> list[dict]:
    """Wall time is the one value that differs between two runs; every other value must be equal."""
    return [{k: v for k, v in row.items() if k != "time"} for row in read_jsonl(path).rows]


@pytest.mark.slow
def test_kill_9_then_resume_matches_uninterrupted(tmp_path):
    reference = groklab("--out", str(tmp_path / "a"))
    assert reference.wait(timeout=300) == 0, reference.stderr.read()
    ref_dir = next((tmp_path / "a").iterdir())

    rng = random.Random()
    for attempt in range(5):  # kill at five random moments while it trains, resuming in between
        before = rows_in(tmp_path / "b")
        proc = groklab("--out", str(tmp_path / "b"), *(["--resume"] if attempt else []))
        deadline = time.time() + 120
        while rows_in(tmp_path / "b") <= before and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)  # until this process has written a row of its own
        time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    run_dir = next((tmp_path / "b").iterdir())
    killed_at = len(read_jsonl(run_dir / "metrics.jsonl").rows)
    proc = groklab("--out", str(tmp_path / "b"), "--resume")
    assert proc.wait(timeout=300) == 0, proc.stderr.read()

    assert without_time(run_dir / "metrics.jsonl") == without_time(ref_dir / "metrics.jsonl")
    assert killed_at < len(read_jsonl(ref_dir / "metrics.jsonl").rows)  # the kill really interrupted training
    summary = json.loads((run_dir / "summary.json").read_text())
    reference_summary = json.loads((ref_dir / "summary.json").read_text())
    # the default preset's stop rule (val acc >= 0.99 held 5 evaluations) ends both at the same step, or neither
    assert summary["status"] == "completed" and summary["steps"] == reference_summary["steps"]
    assert summary["stopped"] == reference_summary["stopped"]
    state = torch.load(run_dir / "checkpoints" / "latest.pt", weights_only=True)
    assert state["step"] == summary["steps"] and set(state) >= {"model", "optimizer", "rng", "step"}
    assert len(list((run_dir / "checkpoints").glob("step_*.pt"))) >= 3


@pytest.mark.slow
def test_sigterm_records_interrupted_and_keeps_history(tmp_path):
    proc = groklab("--out", str(tmp_path))
    deadline = time.time() + 120
    while not list(tmp_path.glob("*/metrics.jsonl")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130
    run = load_run(next(tmp_path.iterdir()))
    assert run.summary["status"] == "interrupted" and len(run.history["step"]) > 0


def test_a_folder_written_before_a_key_was_added_still_resumes(tmp_path):
    """config.json from an older groklab lacks keys added since (with defaults): the folder is the same run."""
    from groklab.api import resolve
    from groklab.runs import execute

    cfg = resolve(None, {k: v for k, v in (a.split("=") for a in ARGS)} | {"train.steps": "20", "train.device": "cpu"})
    path, _ = execute(cfg, out=tmp_path)
    held = json.loads((path / "config.json").read_text())
    del held["train"]["tf32"], held["train"]["compile"]  # as written before these keys existed
    (path / "config.json").write_text(json.dumps(held))
    assert execute(cfg, out=tmp_path, resume=True) == (path, True)  # recognised as finished, not "another config"
