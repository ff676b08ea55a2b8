"""Bad `--executor slurm` input is one line (`groklab: error: ...`, exit 2) with SLURM's own reason where SLURM
refuses, and writes nothing: no sweep.json, no run folder, no suite files."""

import importlib.util
import os

import pytest

from groklab.cli import main

from .conftest import SLURM_ARGS, items

needs_submitit = pytest.mark.skipif(importlib.util.find_spec("submitit") is None and not os.environ.get("CI"),
                                    reason="submitit is not installed (pip install 'groklab[slurm]')")


def refused(capsys, tmp_path, *args: str) -> str:
    """Run a sweep and a suite with `args`; both must be refused in one line and leave `tmp_path` empty."""
    assert main(["sweep", *items(), "seed=0,1", "--out", str(tmp_path / "w"), *args]) == 2
    assert main(["suite", "--only", "gromov2023", "--out", str(tmp_path / "s"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("groklab: error: ") for line in err), err
    assert err[0] == err[1], err
    assert list(tmp_path.iterdir()) == []
    return err[0]


@pytest.mark.parametrize("args, message", [
    (["--time-min", "0"], "--time-min 0: expected a whole number >= 1"),
    (["--time-min", "-3"], "--time-min -3: expected a whole number >= 1"),
    (["--cpus-per-task", "0"], "--cpus-per-task 0: expected a whole number >= 1"),
    (["--chunk-size", "0"], "--chunk-size 0: expected a whole number >= 1"),
    (["--slurm", "time=5"], "--slurm time=...: set it with --time-min"),
    (["--slurm", "output=x.log"], "--slurm output=...: submitit writes the logs"),
    (["--mem", " "], "--mem is empty"),
])
def test_bad_options_are_refused_before_slurm_is_asked(capsys, tmp_path, args, message):
    assert refused(capsys, tmp_path, "--executor", "slurm", *args) == f"groklab: error: {message}"


@needs_submitit
def test_no_sbatch_on_path(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-slurm-here"))
    line = refused(capsys, tmp_path, "--executor", "slurm")
    assert line.startswith("groklab: error: --executor slurm: no sbatch on PATH"), line


@pytest.mark.slurm
@pytest.mark.xdist_group("slurm")
@pytest.mark.parametrize("args, reason", [
    (["--partition", "nope"], "invalid partition specified: nope"),
    (["--cpus-per-task", "64"], "Requested node configuration is not available"),
    (["--mem", "100T"], "Requested node configuration is not available"),
    (["--gpus-per-task", "1"], "Invalid generic resource (gres) specification"),
    (["--slurm", "constraint=a100"], "Invalid feature specification"),
])
def test_slurm_refuses_the_job(slurm_cluster, capsys, tmp_path, args, reason):
    """`sbatch --test-only` with the same options answers before anything is written; its reason is the line.
    (`args` come last: the last value of an option wins.)"""
    line = refused(capsys, tmp_path, *SLURM_ARGS, *args)
    assert line.startswith("groklab: error: --executor slurm: SLURM refused the job (") and reason in line, line
