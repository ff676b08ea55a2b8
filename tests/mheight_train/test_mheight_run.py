"""End to end on CPU through groklab.run: the mheight preset on tiny data, its metrics, the detector verdict,
and bad config values as one-line ConfigErrors before anything is written."""


import pytest

import groklab
from groklab.analysis.detect import VERDICTS
from groklab.cli import main
from groklab.presets import get

TINY = {"task.groups": "9,4,2;9,4,5;10,5,3", "task.per_group": 60, "task.val_per_group": 20,
        "task.features": "raw", "model.d_model": 32, "model.d_mlp": 32, "model.n_layers": 2,
        "train.batch_size": "64", "train.steps": 300, "train.eval_every": 50, "train.checkpoint_every": 300,
        "train.log_checkpoints": 3, "train.device": "cpu", "optim.lr": 3e-3}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, small_file):
    out = tmp_path_factory.mktemp("runs")
    return groklab.run("mheight", {**TINY, "task.data": str(small_file), "model.name": "moe", "model.n_experts": 3},
                       out=out)


def test_run_learns_and_is_diagnosed(tiny_run):
    run = groklab.load_run(tiny_run)
    assert run.summary["status"] == "completed" and run.summary["kind"] == "regression"
    val = run.history["val/loss"]
    assert val[-1] < 0.5 * val[0], val
    assert run.summary["detection"]["verdict"] in VERDICTS
    final = run.summary["final"]
    groups = {"val/mse/9,4,2", "val/mse/9,4,5", "val/mse/10,5,3"}
    assert groups <= set(final) and "train/acc" not in final
    mean = sum(final[k] for k in groups) / 3
    assert final["val/course_mse"] == pytest.approx(mean)
    # the headline beside it: the groups with m < n-k only (9,4,5 has m = n-k)
    assert final["val/course_mse_m<n-k"] == pytest.approx((final["val/mse/9,4,2"] + final["val/mse/10,5,3"]) / 2)
    assert final["val/mse/9,4,2"] < final["val/mse/9,4,5"]  # the m = n-k group is the hard one (§4.6)
    assert final["val/loss"] == pytest.approx(mean, rel=1e-5)  # balanced: the loss is the course mean


def test_grokking_preset_logs_layer_norms(tmp_path, small_file):
    cfg = get("mheight_grokking").config
    assert (cfg.task.per_group, cfg.train.batch_size, cfg.model.name, cfg.model.n_layers) == (5000, "4096",
                                                                                             "resnet_mlp", 5)
    overrides = {**TINY, "task.data": str(small_file), "train.steps": 20, "train.eval_every": 10,
                 "train.checkpoint_every": 20, "model.d_model": 16, "model.d_mlp": 16}
    path = groklab.run("mheight_grokking", overrides, out=tmp_path)
    final = groklab.load_run(path).summary["final"]
    assert "params/norm/blocks.1.fc1.weight" in final and "params/norm" in final and "val/mse/9,4,5" in final


def test_violation_loss_runs(tmp_path, small_file):
    overrides = {**TINY, "task.data": str(small_file), "train.steps": 30, "train.eval_every": 10,
                 "train.checkpoint_every": 30, "train.loss": "mse_violation", "train.violation_weight": 1.0,
                 "model.name": "resnet_mlp"}
    run = groklab.load_run(groklab.run("mheight", overrides, out=tmp_path))
    assert run.summary["status"] == "completed"
    assert run.history["val/loss"][-1] < run.history["val/loss"][0]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["task.per_group=0"], "task.per_group must be >= 1"),
        (["task.val_per_group=-1"], "task.val_per_group must be >= 1"),
        (["task.groups=1,2,3,4"], "task.groups="),
        (["task.groups=9,4,6"], "m > n-k"),
        (["task.data=/nonexistent.npz"], "no such file"),
        (["model.name=moe", "model.top_k=7"], "model.top_k must be in 1..model.n_experts"),
        (["model.name=moe", "model.n_experts=0"], "model.top_k must be in 1..model.n_experts"),
        (["train.loss=mse_violation", "train.violation_weight=-1"], "train.violation_weight must be >= 0"),
        (["train.loss=mse_violation", "train.violation_samples=0"], "train.violation_samples must be in 1..10000"),
        (["train.loss=huber"], "train.loss='huber'"),
        (["task.per_group=ten"], "expected int"),
    ],
)
def test_bad_values_are_one_line_errors(capsys, tmp_path, args, needle):
    code = main(["run", "mheight", *args, "--out", str(tmp_path / "runs"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1, err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_violation_loss_needs_the_mheight_task(capsys, tmp_path):
    code = main(["run", "power2022", "train.loss=mse_violation", "--out", str(tmp_path), "--quiet"])
    assert code == 2 and "train.loss=mse_violation needs task.name=mheight" in capsys.readouterr().err


def test_presets_registered_with_paper_scale():
    from groklab.config import apply_overrides, validate

    for name in ("mheight", "mheight_grokking"):
        preset = get(name)
        assert preset.config.task.name == "mheight" and preset.paper_scale
        validate(preset.config)
        validate(apply_overrides(preset.config, dict(o.split("=", 1) for o in preset.paper_scale)))
    grok = get("mheight_grokking").config
    assert grok.optim.name == "adamw" and grok.optim.weight_decay == 0.01 and "layer_norms" in grok.train.probes
    new = get("mheight").config
    assert new.model.name == "group_heads" and new.task.features == "minors+ratios"
    assert "mheight_groups" in new.train.probes


def test_an_mheight_run_carries_its_group_mean_baseline(tiny_run):
    """summary.json `baseline`: the per-(n,k,m) training mean's validation log2-MSE, which the verdict uses."""
    run = groklab.load_run(tiny_run)
    base = run.summary["baseline"]
    assert base["kind"] == "group mean" and base["groups"] == 3 and base["val/loss"] > 0
    per = base["val/loss per group"]  # balanced validation rows: the per-group figures average to the whole
    assert set(per) == {"9,4,2", "9,4,5", "10,5,3"} and sum(per.values()) / 3 == pytest.approx(base["val/loss"])
    assert run.summary["detection"]["baseline"]["val/loss"] == base["val/loss"]
    verdict, below = run.summary["detection"]["verdict"], run.summary["detection"]["baseline"]["below_step"]
    assert (verdict == "baseline") == (below is None and verdict not in ("memorization", "confusion", "no learning"))
