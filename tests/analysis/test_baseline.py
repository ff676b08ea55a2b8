"""Regression runs against their trivial baseline (issue 17): computed from the task, stored in summary.json,
used by the detector so that a validation loss that only reaches the constant predictor is never called
generalization; spikes report what moved with them."""

from __future__ import annotations

import pytest
import torch

from groklab.analysis.detect import detect
from groklab.analysis.spikes import describe_moved, what_moved
from groklab.errors import ConfigError
from groklab.tasks.base import TaskData, trivial_baseline


def regression_task(groups: bool) -> TaskData:
    x = torch.zeros(6, 2)
    y_train = torch.tensor([1.0, 3.0, 10.0, 14.0, 2.0, 2.0])
    y_val = torch.tensor([2.0, 12.0, 0.0, 0.0, 0.0, 0.0])
    g = (torch.tensor([0, 0, 1, 1, 0, 0]), torch.tensor([0, 1, 0, 0, 0, 0]))
    return TaskData(x, y_train, x, y_val, kind="regression", in_dim=2, groups=g if groups else None)


def test_group_mean_and_global_mean_by_hand():
    grouped = trivial_baseline(regression_task(groups=True))
    # group 0 mean (1+3+2+2)/4 = 2, group 1 mean 12: train errors 1,1,4,4,0,0 -> 10/6; val 0,0,4,4,4,4 -> 16/6
    # per group on validation: group 0 errors 0,4,4,4,4 -> 16/5, group 1 error 0
    assert grouped == {"kind": "group mean", "groups": 2, "train/loss": pytest.approx(10 / 6),
                       "val/loss": pytest.approx(16 / 6), "val/loss per group": {"0": pytest.approx(16 / 5),
                                                                                 "1": pytest.approx(0.0)}}
    plain = trivial_baseline(regression_task(groups=False))
    assert plain["kind"] == "train mean" and plain["val/loss"] == pytest.approx(
        float(((torch.tensor([2.0, 12, 0, 0, 0, 0]) - 32 / 6) ** 2).mean()))
    assert trivial_baseline(regression_task(groups=True), "mean")["kind"] == "train mean"
    assert trivial_baseline(regression_task(groups=True), "none") is None


def test_bad_baseline_requests_are_one_line():
    cls = TaskData(torch.zeros(2, 1, dtype=torch.long), torch.zeros(2, dtype=torch.long),
                   torch.zeros(2, 1, dtype=torch.long), torch.zeros(2, dtype=torch.long), kind="classification",
                   n_classes=2, vocab_size=2)
    assert trivial_baseline(cls) is None
    with pytest.raises(ConfigError, match="applies to regression tasks"):
        trivial_baseline(cls, "mean")
    with pytest.raises(ConfigError, match="needs a task with groups"):
        trivial_baseline(regression_task(groups=False), "group_mean")
    with pytest.raises(ConfigError, match="expected one of"):
        trivial_baseline(regression_task(groups=True), "median")


def falling(to: float, steps: int = 40) -> dict[str, list]:
    """train loss 30 -> 0.01; val loss 30 -> `to`, both by step 2,000 (every 100 steps)."""
    s = list(range(0, 100 * steps, 100))
    frac = [min(1.0, t / 2000) for t in s]
    return {"step": s, "train/loss": [30 * (1 - f) + 0.01 for f in frac],
            "val/loss": [30 * (1 - f) + to * f for f in frac]}


def test_a_drop_to_the_baseline_is_not_generalization():
    base = {"kind": "group mean", "groups": 21, "train/loss": 1.3, "val/loss": 1.31}
    at = detect(falling(1.3), "regression", baseline=base)
    assert at["verdict"] == "baseline" and at["baseline"]["below_step"] is None
    assert "never below" in " ".join(at["notes"]) and at["baseline"]["best_val_loss"] == pytest.approx(1.3)
    without = detect(falling(1.3), "regression")
    assert without["verdict"] in ("grokking", "comprehension")  # what the users' study called grokking
    below = detect(falling(0.3), "regression", baseline=base)
    assert below["verdict"] in ("grokking", "comprehension") and below["baseline"]["below_step"] is not None
    classification = detect({"step": [0, 1], "train/acc": [0.1, 1.0], "val/acc": [0.1, 1.0]}, baseline=base)
    assert classification["baseline"] is None  # accuracies are judged by accuracy


def test_levels_are_relative_to_the_baseline_when_known():
    """The m-height recipe's run (issue 17): train and val log2-MSE ~0.12 and ~0.15 against a group-mean baseline
    of ~1.33 is far beyond the constant; relative to a random init's first loss (1.45) it would not be."""
    base = {"kind": "group mean", "groups": 21, "train/loss": 1.33, "val/loss": 1.36}

    def curves(start: float, train: float, val: float) -> dict[str, list]:
        s = list(range(0, 4000, 100))
        frac = [min(1.0, t / 2000) for t in s]
        return {"step": s, "train/loss": [start * (1 - f) + train * f for f in frac],
                "val/loss": [start * (1 - f) + val * f for f in frac]}

    known = detect(curves(1.45, 0.119, 0.149), "regression", baseline=base)
    assert known["verdict"] == "comprehension" and known["baseline"]["below_step"] is not None
    assert known["phase"]["val"] == "val/loss <= 0.68"  # baseline_drop 0.5 x 1.36
    assert detect(curves(1.45, 0.119, 0.149), "regression")["verdict"] == "memorization"  # 0.149 > 0.1 x 1.45
    worse = detect(curves(30, 0.119, 5.0), "regression", baseline=base)  # overfits far above the constant
    assert worse["verdict"] == "memorization" and worse["baseline"]["best_val_loss"] == 5.0


def test_what_moved_at_a_spike():
    steps = list(range(10))
    h = {"step": steps, "train/loss": [1.0] * 10, "lr": [1e-4] * 4 + [1e-3] * 6,
         "params/norm/blocks.0.W_in": [1.0] * 5 + [1.5] * 5, "params/norm/W_U": [2.0] * 10,
         "val/mse/9,4,5": [1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0, 1.0, 1.0], "val/mse/9,4,2": [0.1] * 10}
    moved = what_moved(h, row=5, window=2, change=0.05)
    assert moved["norms"] == {"blocks.0.W_in": 0.5} and moved["groups"] == {"9,4,5": 2.0}
    assert moved["lr"] == {"min": 1e-4, "max": 1e-3}
    assert describe_moved(moved) == "norms: blocks.0.W_in +50%; groups: 9,4,5 +200% off their course; lr 0.0001..0.001"
    assert describe_moved(what_moved(h, row=9, window=1, change=0.05)) == "nothing logged moved"
