"""Every `groklab evaluate` / `groklab mheight predict` example of the README runs as written, with the run folders
of the examples replaced by small finished runs of the same presets."""

import re
import shlex
from pathlib import Path

import numpy as np
import pytest

import groklab
from groklab.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
MHEIGHT_RUN, MODULAR_RUN = "runs/mheight-mheight-1a2b3c4d", "runs/power2022-xdivy-1a2b3c4d"
# the `mheight` preset on all 21 course groups, tiny
ALL_GROUPS = {"task.per_group": 20, "task.val_per_group": 10, "model.d_model": 16, "model.d_mlp": 16,
              "model.n_layers": 1, "train.steps": 20, "train.eval_every": 10, "train.checkpoint_every": 20,
              "train.device": "cpu"}


def readme_commands() -> list[str]:
    """The README's shell lines that use a trained model (and the one that generates their data), comments off."""
    wanted = ("groklab evaluate", "groklab mheight predict", "groklab mheight generate --per-group 500 --seed 1")
    lines = [line.split("  #")[0].strip() for line in README.read_text().splitlines()]
    return [line for line in lines if line.startswith(wanted)]


def readme_python() -> list[str]:
    """The README's Python lines that use a trained model."""
    return [line.split("  #")[0].strip() for line in README.read_text().splitlines()
            if re.match(r"(record|pred) = groklab\.(evaluate|predict_heights)\(|pred\.pred", line)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, isolated):
    out = tmp_path_factory.mktemp("readme_runs")
    mheight = groklab.run("mheight", ALL_GROUPS, out=out)
    modular = groklab.run("power2022", {"task.op": "x/y", "task.p": "7", "model.d_model": "16", "model.n_heads": "2",
                                        "model.d_mlp": "32", "train.steps": "20", "train.eval_every": "10",
                                        "train.device": "cpu"}, out=out)
    return {MHEIGHT_RUN: str(mheight), MODULAR_RUN: str(modular)}


def test_the_readme_has_the_examples():
    commands = readme_commands()
    assert sum(c.startswith("groklab evaluate") for c in commands) >= 2
    assert sum(c.startswith("groklab mheight predict") for c in commands) >= 2
    assert len(readme_python()) == 3


def test_every_shell_example_runs(runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # fresh.npz and predicted.csv are written where the user stands
    for line in readme_commands():
        argv = [runs.get(a, a) for a in shlex.split(line)[1:]]
        assert main(argv) == 0, (line, capsys.readouterr().err)
    printed = capsys.readouterr().out
    assert "mean over the groups with m<n-k (15)" in printed and "rows/s" in printed and "log2 error" in printed
    assert (tmp_path / "predicted.csv").read_text().count("\n") == 21 * 500 + 1


def test_every_python_example_runs(runs):
    P = np.random.default_rng(0).uniform(-100, 100, (3, 4, 5))  # three codes of group (9, 4, 2)
    names = {"groklab": groklab, "path": runs[MODULAR_RUN], "P": P}
    for line in readme_python():
        exec(line.replace(f'"{MHEIGHT_RUN}"', repr(runs[MHEIGHT_RUN])), names)
    assert names["record"]["data"]["overrides"] == {"task.split_seed": "1"}
    assert names["pred"].pred.shape == (3,) and np.all(np.isfinite(names["pred"].log2_error))
