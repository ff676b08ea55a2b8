"""The ``mheight`` commands through ``register`` on a fresh parser, and one real subprocess."""

from __future__ import annotations

import argparse
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from groklab.cli import main
from groklab.mheight import load_dataset
from groklab.mheight.cli import register

ROOT = Path(__file__).resolve().parents[2]
COURSE_P = "0.4759809,0.9938236,0.819425;-0.8960798,-0.7442706,0.3345122"


def test_register_adds_leaves_with_funcs() -> None:
    parser = argparse.ArgumentParser(prog="groklab")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["mheight", "height", "--m", "2", "--P", COURSE_P])
    assert callable(args.func)
    for argv in (["mheight", "generate", "--out", "x.npz"], ["mheight", "import", "a.pkl", "--out", "x.npz"]):
        assert callable(parser.parse_args(argv).func)


@pytest.mark.parametrize("method", ["vertex", "lp", "exact"])
def test_height_command(method: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["mheight", "height", "--n", "5", "--k", "2", "--m", "2", "--P", COURSE_P, "--method", method]
    assert main(argv) == 0
    assert float(capsys.readouterr().out) == pytest.approx(1.9242387, rel=1e-7)


def test_height_command_prints_inf(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mheight", "height", "--m", "2", "--P", "1,0;2,3"]) == 0
    assert math.isinf(float(capsys.readouterr().out))


@pytest.mark.parametrize("argv", [
    ["height", "--n", "6", "--k", "2", "--m", "2", "--P", COURSE_P],  # P of the wrong shape
    ["height", "--m", "2", "--P", "1,2;3,nan"],
    ["height", "--m", "2", "--P", "1,2;3"],
    ["height", "--m", "2", "--P", "1,x;3,4"],
    ["height", "--m", "0", "--P", "1,2;3,4"],
    ["height", "--m", "4", "--P", "1,2;3,4"],
    ["height", "--n", "2", "--k", "2", "--m", "1", "--P", "1,2"],  # k >= n
    ["generate", "--groups", "9,4", "--out", "OUT"],
    ["generate", "--groups", "9,4,2", "--per-group", "0", "--out", "OUT"],
    ["generate", "--groups", "9,4,2", "--device", "nosuchdevice", "--out", "OUT"],
    ["import", "A.pkl", "--out", "OUT"],  # no --trust-pickle
])
def test_bad_input_exit_2_with_one_line(argv: list[str], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "A.pkl").write_bytes(pickle.dumps([[5, 2, 2, np.eye(2, 3)]]))
    argv = [str(tmp_path / a) if a in ("OUT", "A.pkl") else a for a in argv]
    assert main(["mheight", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("groklab: error: ") and err.count("\n") == 1
    assert not (tmp_path / "OUT").exists()


def test_generate_and_import_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pyarrow")
    out = tmp_path / "d.npz"
    argv = ["mheight", "generate", "--groups", "9,4,5;6,3,2", "--per-group", "12", "--dist", "integer",
            "--seed", "5", "--out", str(out), "--workers", "1", "--chunk-size", "5", "--device", "cpu"]
    assert main(argv) == 0
    assert "24 rows in 2 groups" in capsys.readouterr().out
    data = load_dataset(out)
    samples = [[int(n), int(k), int(m), P[:k, :n - k]] for n, k, m, P in zip(data["n"], data["k"], data["m"],
                                                                              data["P"], strict=True)]
    (tmp_path / "s.pkl").write_bytes(pickle.dumps(samples))
    (tmp_path / "h.pkl").write_bytes(pickle.dumps(data["height"].tolist()))
    argv = ["mheight", "import", str(tmp_path / "s.pkl"), str(tmp_path / "h.pkl"), "--trust-pickle",
            "--out", str(tmp_path / "back.parquet"), "--check", "3"]
    assert main(argv) == 0
    assert "0 disagree" in capsys.readouterr().out
    back = load_dataset(tmp_path / "back.parquet")
    for key in data:
        assert np.array_equal(back[key], data[key]), key


def test_module_entry_point_subprocess() -> None:
    """The real process: exit status 2 and a one-line ``groklab: error:`` on bad input."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "groklab.cli", "mheight", "height", "--m", "9", "--P", "1,2"]
    bad = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("groklab: error: m must be in 1..n-1") and bad.stderr.count("\n") == 1


def test_cli_methods_are_the_library_methods() -> None:
    from groklab.mheight.cli import METHODS
    from groklab.mheight.height import METHODS as LIBRARY

    assert METHODS == LIBRARY
