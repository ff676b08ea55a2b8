"""`groklab evaluate`: a finished run's model scored on data it was not trained on, encoded with the run's
training statistics; per split, per group, with the baseline; written to RUN/evaluations/ only."""

import csv
import json

import numpy as np
import pytest
import torch

import groklab
from groklab.cli import main
from groklab.config import RunConfig
from groklab.mheight import load_dataset, unpad
from groklab.runs import RunDir
from groklab.studies.evaluate import open_trained
from groklab.tasks import build_task
from groklab.tasks.mheight import balanced_split, group_index, scoring_task

from .conftest import GROUPS


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_own_data_reproduces_the_final_metrics(mheight_run, modular_run):
    for run in (mheight_run, modular_run):
        final = groklab.load_run(run).summary["final"]
        record = groklab.evaluate(run)
        assert record["splits"]["val"]["loss"] == pytest.approx(final["val/loss"], rel=1e-5)
        assert record["splits"]["train"]["loss"] == pytest.approx(final["train/loss"], rel=1e-5)
    groups = record_of(mheight_run)["groups"]["val"]
    final = groklab.load_run(mheight_run).summary["final"]
    for label, row in groups.items():  # per group: the probe's course metric at the last evaluation
        assert row["loss"] == pytest.approx(final[f"val/mse/{label}"], rel=1e-4)


def record_of(run, **kw):
    return groklab.evaluate(run, **kw)


def test_new_rows_are_encoded_with_the_training_statistics(mheight_run, mheight_data):
    """The data file's rows scored with the run's fitted state give the training task's inputs exactly: its own
    validation rows come out as in training, and a handful of rows (whose own feature statistics would differ)
    come out as they do among all the others: the standardisation is the run's, never refitted."""
    cfg = RunConfig.from_dict(groklab.load_run(mheight_run).config)
    task, table = build_task(cfg.task), load_dataset(mheight_data[0])
    fitted = open_trained(mheight_run).record["task"]
    assert torch.equal(build_task(cfg.task, fitted).x_val, task.x_val)  # the builder, given the fitted state
    labels = [",".join(map(str, g)) for g in GROUPS]
    _, val = balanced_split(group_index(table, list(GROUPS)), ~table["is_inf"], [0, 1, 2], 50, 20, 0, labels)
    scored = scoring_task(table, fitted, None)
    assert torch.equal(scored.x_val[val], task.x_val) and torch.equal(scored.y_val[val], task.y_val)
    few = scoring_task({c: v[val[:5]] for c, v in table.items()}, fitted, None)
    assert torch.allclose(few.x_val, task.x_val[:5], atol=1e-6)


def test_fresh_data_per_group_with_the_baseline(mheight_run, mheight_data, capsys):
    before = (mheight_run / "metrics.jsonl").read_bytes()
    code, out, err = cli(capsys, "evaluate", mheight_run, "--data", mheight_data[1])
    assert code == 0, err
    [(path, record)] = [(p, r) for p, r in RunDir(mheight_run).evaluations() if r["data"]["source"] ==
                        str(mheight_data[1])]
    assert path.name == f"{record['data']['sha256'][:12]}-latest.json" and path.parent.name == "evaluations"
    assert (mheight_run / "metrics.jsonl").read_bytes() == before  # the history is never touched
    assert list(record["splits"]) == ["val"] and record["splits"]["val"]["rows"] == 3 * 40
    per = record["groups"]["val"]
    assert set(per) == {",".join(map(str, g)) for g in GROUPS}
    # the baseline predicts the *training* labels' mean of each group on the fresh rows
    task = build_task(RunConfig.from_dict(groklab.load_run(mheight_run).config).task)
    fresh = load_dataset(mheight_data[1])
    for i, g in enumerate(GROUPS):
        mean = task.y_train[task.groups[0] == i].double().mean().item()
        rows = np.all(np.stack([fresh["n"], fresh["k"], fresh["m"]], 1) == g, axis=1)
        expect = float(np.mean((np.log2(fresh["height"][rows]) - mean) ** 2))
        assert per[",".join(map(str, g))]["baseline"] == pytest.approx(expect, rel=1e-6)
    means = record["group_means"]["val"]
    assert means["all"]["groups"] == 3 and means["m<n-k"]["groups"] == 2
    assert means["m<n-k"]["loss"] == pytest.approx((per["9,4,2"]["loss"] + per["10,5,3"]["loss"]) / 2)
    assert "mean over the groups with m<n-k (2)" in out and "9,4,5" in out
    code, shown, _ = cli(capsys, "show", mheight_run)
    assert code == 0 and f"eval     {path.name}" in shown and "groups with m<n-k" in shown


def write_codes_csv(path, table, heights: bool):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["n", "k", "m", "P", *(["height"] if heights else [])])
        for i in range(len(table["n"])):
            n, k = int(table["n"][i]), int(table["k"][i])
            P = ";".join(",".join(repr(float(v)) for v in row) for row in unpad(table["P"][i], n, k))
            w.writerow([n, k, int(table["m"][i]), P, *([repr(float(table["height"][i]))] if heights else [])])
    return path


def test_csv_of_codes_with_and_without_heights(mheight_run, mheight_data, tmp_path, copy_of):
    run = copy_of(mheight_run)
    table = load_dataset(mheight_data[1])
    npz = record_of(run, data=str(mheight_data[1]))
    with_h = record_of(run, data=str(write_codes_csv(tmp_path / "h.csv", table, True)))
    without = record_of(run, data=str(write_codes_csv(tmp_path / "p.csv", table, False)))  # exact labels computed
    for rec in (with_h, without):
        assert rec["data"]["sha256"] == npz["data"]["sha256"]
        assert rec["splits"]["val"]["loss"] == pytest.approx(npz["splits"]["val"]["loss"], rel=1e-6)


def test_parquet_gives_the_same_rows(mheight_run, mheight_data, tmp_path, copy_of):
    pytest.importorskip("pyarrow")
    from .conftest import data_file

    run = copy_of(mheight_run)
    parquet = data_file(tmp_path, "fresh.parquet", per_group=40, seed=7)  # the fresh .npz's spec
    a, b = record_of(run, data=str(mheight_data[1])), record_of(run, data=str(parquet))
    assert a["data"]["sha256"] == b["data"]["sha256"] and a["groups"] == b["groups"]


def test_a_folder_without_fitted_json_rebuilds_it(mheight_run, mheight_data, copy_of):
    run = copy_of(mheight_run)
    first = record_of(run, data=str(mheight_data[1]))
    (run / "fitted.json").unlink()
    again = record_of(run, data=str(mheight_data[1]))
    assert again["splits"] == first["splits"] and again["groups"] == first["groups"]


def test_checkpoints_latest_best_and_steps(mheight_run, copy_of):
    run = copy_of(mheight_run)
    steps = sorted(int(n[5:]) for n in RunDir(run).checkpoints() if n.startswith("step_"))
    assert steps and "best" in RunDir(run).checkpoints()
    early = record_of(run, checkpoint=steps[0])
    assert early["checkpoint"] == f"step_{steps[0]}" and early["step"] == steps[0]
    best = record_of(run, checkpoint="best")
    assert best["splits"]["val"]["loss"] == pytest.approx(
        groklab.load_run(run).summary["best"]["value"], rel=1e-5)
    for rec in (early, best):
        assert (run / "evaluations" / f"{rec['data']['sha256'][:12]}-{rec['checkpoint']}.json").is_file()


def test_modular_with_another_split(modular_run, capsys):
    code, out, err = cli(capsys, "evaluate", modular_run, "task.split_seed=1")
    assert code == 0, err
    record = next(r for _, r in RunDir(modular_run).evaluations() if r["data"]["overrides"])
    own = groklab.evaluate(modular_run)
    assert record["data"]["overrides"] == {"task.split_seed": "1"}
    assert record["data"]["sha256"] != own["data"]["sha256"]
    assert 0 <= record["splits"]["val"]["acc"] <= 1 and record["splits"]["val"]["rows"] == 25
    assert "task.split_seed=1" in out


def test_knowledge_graph_probe_splits(tmp_path):
    overrides = {"task.name": "kg_comparison", "task.n_entities": 60, "task.n_attributes": 4, "task.n_values": 6,
                 "task.phi": 5.0, "task.ood_frac": 0.1, "model.d_model": 16, "model.n_heads": 2, "model.d_mlp": 32,
                 "train.steps": 10, "train.eval_every": 5, "train.checkpoint_every": 10, "train.device": "cpu"}
    run = groklab.run("power2022", overrides, out=tmp_path)
    record = groklab.evaluate(run)
    assert {"id_atomic", "ood_atomic", "train_inferred", "test_inferred_iid", "test_inferred_ood"} <= set(
        record["splits"])
    final = groklab.load_run(run).summary["final"]
    assert record["splits"]["test_inferred_ood"]["acc"] == pytest.approx(final["test_inferred_ood/acc"])


def test_the_model_is_built_through_the_runs_config(mheight_run):
    trained = open_trained(mheight_run)
    assert trained.config.model.name == "group_heads" and trained.record["task"]["features"] == "minors+ratios"
    assert trained.record["groups"] == 3 and len(trained.record["label_mean"]) == 3
    assert json.loads((mheight_run / "fitted.json").read_text())["in_dim"] == trained.record["in_dim"]


def test_a_diverged_run_is_scored_with_null_metrics(mheight_run, copy_of, capsys):
    run = copy_of(mheight_run)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps(summary | {"status": "diverged"}))
    state = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    state["model"] = {k: v.float().fill_(float("nan")) if v.is_floating_point() else v
                      for k, v in state["model"].items()}
    torch.save(state, run / "checkpoints" / "latest.pt")
    record = groklab.evaluate(run)
    assert record["splits"]["val"]["loss"] is None and record["group_means"]["val"]["all"]["loss"] is None
    assert record["splits"]["val"]["baseline"] > 0  # the baseline does not need the model
    assert main(["show", str(run)]) == 0 and "mean over groups - (baseline" in capsys.readouterr().out


def test_raw_P_inputs_and_another_model(tmp_path, mheight_data):
    """The ResNet on raw P (the published-style input): P / the run's entry scale in the run's padding."""
    from .conftest import MHEIGHT

    overrides = {**MHEIGHT, "task.data": str(mheight_data[0]), "task.features": "raw", "model.name": "resnet_mlp",
                 "train.keep_best": ""}
    run = groklab.run("mheight", overrides, out=tmp_path)
    final = groklab.load_run(run).summary["final"]
    assert groklab.evaluate(run)["splits"]["val"]["loss"] == pytest.approx(final["val/loss"], rel=1e-5)
    fresh = groklab.evaluate(run, data=str(mheight_data[1]))
    assert fresh["splits"]["val"]["rows"] == 120 and fresh["group_means"]["val"]["m<n-k"]["groups"] == 2
    P = np.random.default_rng(1).uniform(-100, 100, (2, 4, 5))
    assert groklab.predict_heights(run, P, m=5).pred.shape == (2,)
