"""`groklab status` on a sweep folder and a folder of run folders: one line per member, a count per status, the
state of members that were killed or never started, and the SLURM job of each member (submitit's local cluster)."""

import importlib.util
import json
import os
import shutil

import pytest

from groklab.cli import main
from groklab.sweep import run_sweep

ITEMS = ["task.op=x+y", "task.p=7", "model.d_model=16", "model.n_heads=2", "model.d_mlp=32", "model.n_layers=1",
         "train.steps=10", "train.eval_every=5", "train.log_checkpoints=0", "train.device=cpu", "seed=0,1,2"]


def status(capsys, folder):
    assert main(["status", str(folder)]) == 0
    return capsys.readouterr().out.strip().splitlines()


def test_status_of_a_local_sweep_while_members_fail_die_or_wait(tmp_path, capsys):
    sweep = run_sweep(None, ITEMS, out=tmp_path)
    record = json.loads((sweep / "sweep.json").read_text())
    lines = status(capsys, sweep)
    assert lines[-1] == "3 members: completed 3"
    for member, line in zip(record["members"], lines, strict=False):
        assert line.startswith("completed") and "10/10" in line and "train/acc=" in line and "val/acc=" in line
        assert member["run"] in line and f"seed={member['overrides']['seed']}" in line
        verdict = json.loads((tmp_path / member["run"] / "summary.json").read_text())["detection"]["verdict"]
        assert verdict in line

    killed, crashed, waiting = (tmp_path / m["run"] for m in record["members"])
    summary = json.loads((killed / "summary.json").read_text())
    (killed / "summary.json").write_text(json.dumps(summary | {"status": "running", "steps": 5}))  # lock is free
    summary = json.loads((crashed / "summary.json").read_text())
    (crashed / "summary.json").write_text(json.dumps(summary | {"status": "failed", "error": "Trace\nValueError: x"}))
    shutil.rmtree(waiting)
    lines = status(capsys, sweep)
    assert lines[0].startswith("interrupted") and "5/10" in lines[0]
    assert lines[1].startswith("failed") and lines[1].endswith("error: ValueError: x")
    assert lines[2].startswith("pending")
    assert lines[-1] == "3 members: failed 1, interrupted 1, pending 1"
    assert status(capsys, tmp_path)[-1] == "3 members: failed 1, interrupted 1, pending 1"  # the --out folder


def test_status_bad_input(tmp_path, capsys):
    assert main(["status", str(tmp_path / "missing")]) == 2
    assert main(["status", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no such folder" in err[0] and "no sweep.json and no run folders" in err[1]


@pytest.mark.skipif(importlib.util.find_spec("submitit") is None and not os.environ.get("CI"),
                    reason="submitit is not installed (pip install 'groklab[slurm]')")
def test_status_shows_each_members_job(tmp_path, capsys):
    sweep = run_sweep(None, [*ITEMS[:-1], "seed=0,1"], out=tmp_path, executor="slurm",
                      slurm={"cluster": "local", "chunk_size": 1, "cpus_per_task": 1, "wait": True})
    record = json.loads((sweep / "sweep.json").read_text())
    ids = [m["job_id"] for m in record["members"]]
    assert record["cluster"] == "local" and len(set(ids)) == 2
    lines = status(capsys, sweep)
    for job_id, line in zip(ids, lines, strict=False):
        assert line.startswith("completed") and f"job {job_id} FINISHED" in line
    assert lines[-1] == "2 members: completed 2"
    assert (sweep / "summary.md").is_file()  # the last array task wrote the sweep's summary


def test_status_of_several_folders_and_globs(tmp_path, capsys):
    """Several DIRs, a shell's expansion of `out/*` (run folders, the sweep folder, a file) and a quoted glob:
    each member once, under a heading per sweep where there are several."""
    first = run_sweep(None, [*ITEMS[:-1], "seed=0,1"], out=tmp_path / "a")
    second = run_sweep(None, [*ITEMS[:-1], "seed=2,3"], out=tmp_path / "b")
    (tmp_path / "a" / "notes.txt").write_text("a file among the folders")
    assert main(["status", str(first), str(second)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == f"{first}: 2 members" and lines[3] == f"{second}: 2 members", lines
    assert lines[-1] == "4 members: completed 4" and len(lines) == 7
    assert main(["status", *map(str, sorted((tmp_path / "a").iterdir()))]) == 0  # what `status a/*` receives
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "2 members: completed 2" and all("seed=" in x for x in lines[:-1]), lines
    assert main(["status", str(tmp_path / "*" / "sweep-*")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "4 members: completed 4"
    assert main(["status", str(tmp_path / "c*")]) == 2
    assert main(["status", str(first), str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"groklab: error: {tmp_path / 'c*'}: no folder matches",
                   f"groklab: error: {tmp_path / 'missing'}: no such folder"], err
