"""`groklab mheight predict` and `groklab.predict_heights`: the run's model applied to new codes, encoded as its
training rows were, with the exact heights beside the predictions."""

import csv
import re

import numpy as np
import pytest
import torch

import groklab
from groklab.cli import main
from groklab.config import RunConfig
from groklab.io import load_tensors
from groklab.mheight import heights, load_dataset, unpad
from groklab.models import build_model
from groklab.tasks import build_task


def test_predictions_are_the_models_outputs_on_its_own_validation_rows(mheight_run, mheight_data):
    """The validation rows of group (9,4,2), given as bare P matrices, get exactly the outputs the trained model
    gives on the training task's own inputs for them."""
    cfg = RunConfig.from_dict(groklab.load_run(mheight_run).config)
    task = build_task(cfg.task)
    model = build_model(cfg.model, task)
    model.load_state_dict(load_tensors(mheight_run / "checkpoints" / "latest.pt")["model"])
    model.eval()
    rows = task.groups[1] == 0
    with torch.no_grad():
        expect = model(task.x_val[rows]).double().numpy()
    lay = task.meta["layout"]
    assert "P" not in lay  # the recipe's inputs are features only: recover P from the data file by label
    table = load_dataset(mheight_data[0])
    sel = np.flatnonzero((table["n"] == 9) & (table["k"] == 4) & (table["m"] == 2))
    by_label = {np.float32(np.log2(table["height"][i])).item(): i for i in sel}
    P = np.stack([unpad(table["P"][by_label[y]], 9, 4) for y in task.y_val[rows].tolist()])
    pred = groklab.predict_heights(mheight_run, P, m=2)
    assert np.allclose(pred.log2_pred, expect, rtol=1e-5, atol=1e-5)
    assert np.allclose(pred.pred, np.exp2(expect), rtol=1e-4)


def test_exact_heights_and_errors(mheight_run):
    P = np.random.default_rng(3).uniform(-100, 100, (6, 5, 5))  # (10, 5): group 10,5,3
    pred = groklab.predict_heights(mheight_run, P, n=10, k=5, m=3, exact=True)
    assert np.allclose(pred.exact, heights(P, 3))
    assert np.allclose(pred.log2_error, pred.log2_pred - np.log2(pred.exact))
    assert pred.rows_per_second > 0 and set(pred.seconds) == {"features", "model", "exact"}


def test_cli_on_a_data_file_writes_every_row(mheight_run, mheight_data, tmp_path, capsys):
    out = tmp_path / "predicted.csv"
    assert main(["mheight", "predict", str(mheight_run), "--P", str(mheight_data[1]), "--exact", "--show", "4",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"predicted 120 rows in \S+ s: [\d,]+ rows/s \(features", printed)
    assert "... 116 more rows" in printed and "log2-MSE against them" in printed
    rows = list(csv.DictReader(out.open()))
    table = load_dataset(mheight_data[1])
    assert len(rows) == 120 and list(rows[0]) == ["n", "k", "m", "P", "predicted", "log2_predicted", "exact",
                                                  "log2_error"]
    assert float(rows[5]["exact"]) == pytest.approx(table["height"][5])
    assert float(rows[5]["predicted"]) == pytest.approx(2 ** float(rows[5]["log2_predicted"]))
    record = groklab.evaluate(mheight_run, data=str(mheight_data[1]))  # the same rows scored by evaluate
    errors = np.array([float(r["log2_error"]) for r in rows])
    assert np.mean(errors**2) == pytest.approx(record["splits"]["val"]["loss"], rel=1e-4)


def test_cli_on_one_matrix(mheight_run, capsys):
    assert main(["mheight", "predict", str(mheight_run), "--P", "1,2,3,4,5;6,7,8,9,10;3,1,4,1,5;9,2,6,5,3",
                 "--m", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["n", "k", "m", "predicted", "log2"] and lines[1].split()[:3] == ["9", "4", "2"]
