"""End to end on CPU: a real run that groks, its detection, its report, and the Python API."""

import json

import pytest

import groklab
from groklab.analysis.report import write_report
from groklab.config import RunConfig

nanda_run = pytest.mark.xdist_group("nanda_run")


@nanda_run
@pytest.mark.slow
def test_real_run_groks_with_delay(nanda_grokked):
    run = groklab.load_run(nanda_grokked)
    thresholds = run.summary["thresholds"]
    train99, val99 = thresholds["train/acc"]["0.99"], thresholds["val/acc"]["0.99"]
    assert run.summary["status"] == "completed" and run.summary["steps"] == 1300
    assert train99 is not None and val99 is not None
    assert val99 >= 3 * train99, (train99, val99)  # delayed generalization
    assert run.history["val/acc"][-1] >= 0.99
    assert run.summary["detection"]["verdict"] == "grokking"
    assert json.loads((nanda_grokked / "config.json").read_text())["optim"]["weight_decay"] == 5.0
    assert {"python", "torch", "numpy", "device", "git_commit", "host", "start_time"} <= set(
        json.loads((nanda_grokked / "env.json").read_text()))


@nanda_run
@pytest.mark.slow
def test_report_on_real_runs(nanda_grokked, tmp_path):
    html, md = write_report(nanda_grokked.parent, out=tmp_path / "report.html")
    table = md.read_text()
    assert nanda_grokked.name in table and "grokking" in table
    assert "data:image/png;base64," in html.read_text()


@nanda_run
@pytest.mark.slow
def test_rerun_is_a_no_op(nanda_grokked):
    before = (nanda_grokked / "metrics.jsonl").read_text()
    cfg = RunConfig.from_dict(json.loads((nanda_grokked / "config.json").read_text()))
    assert groklab.run(cfg, out=nanda_grokked.parent) == nanda_grokked
    assert (nanda_grokked / "metrics.jsonl").read_text() == before


def test_diverged_run_keeps_history(tmp_path):
    path = groklab.run(None, {"task.op": "x+y", "task.p": 7, "model.d_model": 16, "model.n_heads": 2,
                              "model.d_mlp": 32, "optim.name": "sgd", "optim.lr": 1e12, "train.steps": 50,
                              "train.eval_every": 5}, out=tmp_path)
    run = groklab.load_run(path)
    assert run.summary["status"] == "diverged" and "non-finite" in run.summary["error"]
    assert len(run.history["step"]) >= 2 and run.history["step"][0] == 0
