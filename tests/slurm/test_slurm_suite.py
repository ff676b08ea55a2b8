"""`groklab suite --executor slurm` against a real single-node SLURM: the first call submits the arms as one job
array and writes pending rows; once the array has finished, a second call collects the run folders and writes
STATUS.md without training or submitting anything."""

import json

import pytest

from groklab.cli import main

from .conftest import SLURM_ARGS, assert_same_run, here, slurm, wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.xdist_group("slurm")]

PRESETS = "gromov2023,doshi2024"  # two cheap claims (an MLP each, ~5 s of one CPU), no study


def files(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_suite_is_submitted_then_collected_without_training(slurm_cluster, tmp_path, capsys):
    out = tmp_path / "slurm"
    command = ["suite", "--only", PRESETS, "--out", str(out), "--chunk-size", "1", *SLURM_ARGS]
    assert main(command) == 0
    first = json.loads((out / "status.json").read_text())
    assert [r["status"] for r in first["rows"]] == ["pending", "pending"]
    (sweep,) = (out / "runs").glob("sweep-*")
    jobs = [m["job_id"] for m in json.loads((sweep / "sweep.json").read_text())["members"]]
    assert len(set(jobs)) == 2

    here("suite", "--only", PRESETS, "--out", str(tmp_path / "local"))  # the same, on this machine

    def done():
        capsys.readouterr()
        assert main(["status", str(out)]) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        return lines if all(" COMPLETED " in x for x in lines[:-1]) else []

    lines = wait_until(done, "the suite's array completed", 300, poll=1)
    assert lines[-1] == "2 members: completed 2", lines
    before, known = files(out / "runs"), slurm("squeue", "--noheader", "--array", "--states=all", "--format=%i")
    assert main(command) == 0  # collects, checks, writes the pages
    assert "submitted" not in capsys.readouterr().err
    second = json.loads((out / "status.json").read_text())
    assert [r["status"] for r in second["rows"]] == ["reproduced", "reproduced"]
    assert "Reproduced: 2 of 2" in (out / "STATUS.md").read_text()
    after = files(out / "runs")  # no run folder written again: only sweep.json's `updated` moves
    assert sorted(after) == sorted(before)
    assert [k for k in before if after[k] != before[k]] in ([], [f"{sweep.name}/sweep.json"])
    assert slurm("squeue", "--noheader", "--array", "--states=all", "--format=%i") == known  # nothing submitted
    for name in (p.name for p in (tmp_path / "local" / "runs").iterdir() if not p.name.startswith("sweep-")):
        assert_same_run(tmp_path / "local" / "runs" / name, out / "runs" / name)
