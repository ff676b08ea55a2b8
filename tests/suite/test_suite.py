"""`groklab suite` end to end on two cheap presets, its rows for presets that fail, and bad input."""

import dataclasses
import importlib.util
import json
import os
import time

import pytest

from groklab.cli import main
from groklab.config import apply_overrides
from groklab.presets import power2022
from groklab.presets.base import Arm, Preset
from groklab.suite import runner
from groklab.suite.page import write_status

CHEAP = "gromov2023,doshi2024"  # ~2,200 small full-batch steps in all


@pytest.mark.slow
def test_suite_on_two_cheap_presets(tmp_path, capsys):
    out = tmp_path / "suite"
    assert main(["suite", "--only", CHEAP, "--out", str(out), "--quiet"]) == 0
    assert "Reproduced: 2 of 2" in capsys.readouterr().out
    status = json.loads((out / "status.json").read_text())
    assert [r["preset"] for r in status["rows"]] == ["gromov2023", "doshi2024"]
    assert status["reproduced"] == 2 and status["presets"] == 2 and status["counts"] == {"reproduced": 2}
    assert {"host", "platform", "cpus", "torch", "wall_s", "cpu_s", "scale", "command"} <= set(status)
    for row in status["rows"]:
        assert row["status"] == "reproduced" and row["arxiv"] and row["year"] and row["claim"]
        assert row["verdict"] and row["steps"] == row["total_steps"] and row["train"] == 1.0 and row["val"] >= 0.95
        assert row["figures"]["ipr_end"] > row["figures"]["ipr_start"]
        assert (out / row["runs"]["run"] / "summary.json").is_file()
        assert (out / "thumbs" / f"{row['preset']}.png").read_bytes()[:4] == b"\x89PNG"
    md = (out / "STATUS.md").read_text()
    assert "**Reproduced: 2 of 2**" in md and "![comparison](comparison.png)" in md
    assert "![gromov2023](thumbs/gromov2023.png)" in md and "arXiv 2301.02679" in md
    html = (out / "status.html").read_text()
    assert html.count('src="data:image/png;base64,') == 3 and "<script" not in html
    assert 'href="https://arxiv.org/abs/2406.03495"' in html

    metrics = {p: p.read_bytes() for p in (out / "runs").glob("*/metrics.jsonl")}
    assert main(["suite", "--only", CHEAP, "--out", str(out), "--quiet"]) == 0  # finished arms are skipped
    assert {p: p.read_bytes() for p in (out / "runs").glob("*/metrics.jsonl")} == metrics
    capsys.readouterr()

    assert main(["status", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "2 members: completed 2"
    assert all("completed" in line and "/" in line for line in lines[:-1])
    assert any("gromov2023/run" in line for line in lines)


def tiny(name: str) -> Preset:
    """A preset of a few seconds (x+y mod 7, a small transformer) with power2022's claim, which it cannot meet."""
    config = apply_overrides(power2022.PRESET.config, {
        "name": name, "task.op": "x+y", "task.p": 7, "model.d_model": 16, "model.n_heads": 2, "model.d_mlp": 32,
        "model.n_layers": 1, "train.steps": 20, "train.eval_every": 10, "train.log_checkpoints": 0,
        "train.device": "cpu"})
    return Preset(name, "Nobody 2030, Tiny (arXiv 3001.00001)", "a tiny claim", config,
                  arms={"ci": (Arm("run"),)}, check=power2022.check)


def raising(runs, study=None):
    raise ValueError("the check itself is broken")


@pytest.mark.slow
def test_a_preset_that_fails_is_a_row_never_a_crash(tmp_path, monkeypatch):
    presets = {p.name: p for p in (
        tiny("tiny_ok"),
        dataclasses.replace(tiny("tiny_bad_data"), config=apply_overrides(
            tiny("x").config, {"name": "tiny_bad_data", "task.name": "mnist", "task.source": "idx",
                               "task.data_dir": str(tmp_path / "nowhere"), "model.name": "image_mlp"})),
        dataclasses.replace(tiny("tiny_bad_check"), check=raising),
        dataclasses.replace(tiny("tiny_paper_only"), arms={"paper": (Arm("run"),)},
                            note={"ci": "needs a GPU week"}),
        dataclasses.replace(tiny("tiny_no_check"), check=None),  # a preset from before claims were checks
    )}
    monkeypatch.setattr(runner, "registry", lambda: presets)
    out, entries, meta = runner.run_suite("ci", None, "local", tmp_path / "suite")
    status = write_status(out, entries, "ci", meta | {"command": "test"})
    rows = {r["preset"]: r for r in status["rows"]}
    assert rows["tiny_ok"]["status"] == "not reproduced" and rows["tiny_ok"]["detail"].startswith("failed: ")
    assert rows["tiny_bad_data"]["status"] == "failed to run" and "nowhere" in rows["tiny_bad_data"]["error"]
    assert rows["tiny_bad_check"]["status"] == "failed to run"
    assert rows["tiny_bad_check"]["error"] == "the check raised ValueError: the check itself is broken"
    assert rows["tiny_paper_only"]["status"] == "not checked" and rows["tiny_paper_only"]["error"] == "needs a GPU week"
    assert rows["tiny_no_check"]["status"] == "not checked" and not rows["tiny_no_check"]["runs"]
    assert status["reproduced"] == 0 and status["counts"] == {"not reproduced": 1, "failed to run": 2,
                                                             "not checked": 2}
    assert "Reproduced: 0 of 5" in (out / "STATUS.md").read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["--only", "power2O22"], "unknown preset 'power2O22' (did you mean power2022?)"),
    (["--only", "power2022,,gromov2023"], "an empty preset name"),
    (["--scale", "huge"], "--scale 'huge': expected one of ci, paper"),
    (["--executor", "pbs"], "invalid choice: 'pbs'"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "suite"
    assert main(["suite", *args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("groklab: error: ") and message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_unwritable_out_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["suite", "--only", "power2022", "--out", str(blocker / "suite"), "--quiet"]) == 2
    assert main(["suite", "--only", "power2022", "--out", str(blocker), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("is a file, not a folder" in line for line in err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("submitit") is None and not os.environ.get("CI"),
                    reason="submitit is not installed (pip install 'groklab[slurm]')")
def test_suite_through_a_job_array(tmp_path, capsys):
    """--executor slurm (submitit's local cluster): the first call submits the arms and writes pending rows; once
    the array has finished, a second call checks them without training anything."""
    slurm = {"cluster": "local", "chunk_size": 1, "cpus_per_task": 1, "wait": False}
    out, entries, meta = runner.run_suite("ci", ["gromov2023", "doshi2024"], "slurm", tmp_path / "suite", slurm=slurm)
    first = write_status(out, entries, "ci", meta | {"command": "test"})
    assert {r["status"] for r in first["rows"]} <= {"pending", "reproduced"}  # the array may be quick
    record = json.loads(next((out / "runs").glob("sweep-*/sweep.json")).read_text())
    assert record["cluster"] == "local" and all(m.get("job_id") for m in record["members"])
    deadline = time.monotonic() + 600
    while not all((out / "runs" / m["run"] / "summary.json").is_file() and json.loads(
            (out / "runs" / m["run"] / "summary.json").read_text())["status"] == "completed"
            for m in record["members"]):
        assert time.monotonic() < deadline, "the array did not finish in 600 s"
        time.sleep(0.5)
    assert main(["status", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "2 members: completed 2" and all(" job " in line for line in lines[:-1])
    out, entries, meta = runner.run_suite("ci", ["gromov2023", "doshi2024"], "slurm", out, slurm=slurm)
    second = write_status(out, entries, "ci", meta | {"command": "test"})
    assert [r["status"] for r in second["rows"]] == ["reproduced", "reproduced"]


@pytest.mark.slow
def test_presets_train_together_and_one_by_one_when_that_fails(tmp_path, monkeypatch):
    """Several presets' arms go to one pool over the machine's cores; if it raises, each unfinished preset trains
    alone in this process, so the error lands on its own row and the others still finish."""
    presets = {p.name: p for p in (tiny("tiny_a"), tiny("tiny_b"))}
    monkeypatch.setattr(runner, "registry", lambda: presets)
    calls = []
    real = runner.execute_members

    def flaky(cfgs, *args, **kwargs):
        calls.append(([c.name for c in cfgs], kwargs.get("workers", 1), kwargs.get("cores")))
        if kwargs.get("workers", 1) is None:
            raise RuntimeError("the pool broke")
        return real(cfgs, *args, **kwargs)

    monkeypatch.setattr(runner, "execute_members", flaky)
    _, entries, _ = runner.run_suite("ci", None, "local", tmp_path / "suite")
    assert calls[0] == (["tiny_a", "tiny_b"], None, runner.machine_cores())
    assert calls[1:] == [(["tiny_a"], 1, None), (["tiny_b"], 1, None)]
    assert all(e.error is None and len(e.runs) == 1 for e in entries)
