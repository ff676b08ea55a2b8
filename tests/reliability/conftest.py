"""A real, tiny run folder made once and copied for each test that damages or reuses it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from groklab.cli import main

TINY = ["task.op=x+y", "task.p=7", "model.d_model=16", "model.n_heads=2", "model.d_mlp=32", "train.steps=20",
        "train.eval_every=5", "train.checkpoint_every=10", "train.log_checkpoints=4", "train.device=cpu"]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("made")
    assert main(["run", *TINY, "--out", str(out), "--quiet"]) == 0
    return next(p for p in out.iterdir() if p.is_dir())


@pytest.fixture
def run_copy(made: Path, tmp_path: Path) -> Path:
    """A private copy of the finished tiny run, under tmp_path/runs/."""
    dest = tmp_path / "runs" / made.name
    shutil.copytree(made, dest)
    return dest


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below root with its bytes: "existing runs untouched" compares two snapshots."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and p.name != ".lock"}
