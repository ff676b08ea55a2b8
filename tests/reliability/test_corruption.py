"""Each file of a run folder damaged in turn (truncated, empty, garbage, NUL bytes, a pickle), then each command and
`--resume`: a clean refusal (exit 2, one line naming the file) or a recovery that keeps every valid row (issue 11)."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from groklab.cli import main
from groklab.io import read_jsonl
from groklab.runs import RunDir

from .conftest import TINY

FILES = ["config.json", "summary.json", "metrics.jsonl", "env.json", "command.txt", "checkpoints/latest.pt",
         "checkpoints/step_0.pt"]
DAMAGE = {
    "truncated": lambda b: b[: len(b) // 2],
    "empty": lambda b: b"",
    "garbage": lambda b: b"\x8f\x13garbage{not json\xff" * 7,
    "nul": lambda b: b"\x00" * max(1, len(b)),
    "pickle": lambda b: pickle.dumps({"step": 1, "os": __import__("os").getcwd}),
}


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory) -> Path:
    """A run killed after the row of step 20 was written but while latest.pt still held step 10."""
    out = tmp_path_factory.mktemp("interrupted")
    original = RunDir.save

    def save(self, state, step, latest, keep):
        original(self, state, step, latest, keep)
        if latest and step == 10:
            shutil.copy(self.ckpt / "latest.pt", self.ckpt / "at10.pt")

    RunDir.save = save  # type: ignore[method-assign]
    try:
        assert main(["run", *TINY, "--out", str(out), "--quiet"]) == 0
    finally:
        RunDir.save = original  # type: ignore[method-assign]
    run = next(p for p in out.iterdir() if p.is_dir())
    (run / "checkpoints" / "at10.pt").replace(run / "checkpoints" / "latest.pt")
    RunDir(run).write_summary(status="interrupted", steps=10)
    return run


def copy_of(run: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "runs" / run.name
    shutil.copytree(run, dest)
    return dest


def without_time(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


COMMANDS = {
    "show": lambda run: ["show", str(run)],
    "detect": lambda run: ["detect", str(run)],
    "plot": lambda run: ["plot", str(run)],
    "report": lambda run: ["report", str(run.parent), "--no-figures"],
    "probe": lambda run: ["probe", "fourier", str(run)],
    "resume": lambda run: ["run", *TINY, "--out", str(run.parent), "--resume", "--quiet"],
}


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_damage_is_refused_cleanly_or_recovered(interrupted, tmp_path, capsys, name, damage, command):
    run = copy_of(interrupted, tmp_path)
    target = run / name
    target.write_bytes(DAMAGE[damage](target.read_bytes()))
    history = (run / "metrics.jsonl").read_bytes()
    valid_before = read_jsonl(run / "metrics.jsonl").rows
    code = main(COMMANDS[command](run))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 2:  # a clean refusal that says which file
        errors = [line for line in err.splitlines() if line.startswith("groklab: error:")]
        assert len(errors) == 1 and Path(name).name in errors[0], err
        return
    assert code in (0, 1), err  # 1: `resume` finished but the run is not `completed`, or `run` said so
    rows = read_jsonl(run / "metrics.jsonl").rows
    if command != "resume":  # readers never change the history
        assert (run / "metrics.jsonl").read_bytes() == history
        if name == "metrics.jsonl" and damage != "empty" and command != "probe":
            assert "metrics.jsonl:" in err  # a damaged line is reported with its number, not dropped silently
        return
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 20
    assert without_time(rows)[-1]["step"] == 20
    assert {r["step"] for r in rows} >= {r["step"] for r in valid_before if r["step"] <= 10}


def test_a_broken_line_before_the_checkpoint_survives_resume(interrupted, tmp_path, capsys):
    """The issue's case: line 5 of an interrupted run damaged, then --resume: every other row is kept, the damaged
    line is kept as it is and reported, and the steps after the checkpoint are recomputed identically."""
    run = copy_of(interrupted, tmp_path)
    lines = (run / "metrics.jsonl").read_text().splitlines(keepends=True)
    original = [json.loads(x) for x in lines]
    lines[4] = "{broken\n"
    (run / "metrics.jsonl").write_text("".join(lines))
    assert main(COMMANDS["resume"](run)) == 0
    err = capsys.readouterr().err
    assert "metrics.jsonl:5:" in err
    after = read_jsonl(run / "metrics.jsonl")
    assert [n for n, _ in after.bad] == [5]
    assert without_time(after.rows) == without_time(original[:4] + original[5:])


def test_a_damaged_checkpoint_row_is_refused_not_guessed(interrupted, tmp_path, capsys):
    """If the row of the checkpoint's step itself is damaged, where to cut cannot be told: refuse, change nothing."""
    run = copy_of(interrupted, tmp_path)
    lines = (run / "metrics.jsonl").read_text().splitlines(keepends=True)
    at = next(i for i, x in enumerate(lines) if json.loads(x)["step"] == 10)
    lines[at] = '{"step": 1'
    (run / "metrics.jsonl").write_text("".join(lines))
    before = (run / "metrics.jsonl").read_bytes()
    assert main(COMMANDS["resume"](run)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the row of step 10" in err[0]
    assert (run / "metrics.jsonl").read_bytes() == before


def test_a_missing_summary_resumes(interrupted, tmp_path):
    """summary.json is derived data: a folder without it resumes (and gets it back)."""
    run = copy_of(interrupted, tmp_path)
    (run / "summary.json").unlink()
    assert main(COMMANDS["resume"](run)) == 0
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
