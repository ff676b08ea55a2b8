"""The name mapping onto groklab's keys (groklab/importers/keys.py)."""

from __future__ import annotations

import pytest

from groklab.importers.keys import assign, match, x_kind


@pytest.mark.parametrize("name, target", [
    ("train_loss", "train/loss"), ("training/loss", "train/loss"), ("Loss/train", "train/loss"),
    ("loss", "train/loss"), ("trainLoss", "train/loss"), ("train_loss_epoch", "train/loss"),
    ("train/accuracy", "train/acc"), ("accuracy", "train/acc"), ("epoch_accuracy", "train/acc"),
    ("val_acc", "val/acc"), ("validation/accuracy", "val/acc"), ("test_acc", "val/acc"),
    ("test_accuracy", "val/acc"), ("eval_accuracy", "val/acc"), ("valid.loss", "val/loss"),
    ("val_loss", "val/loss"), ("dev-loss", "val/loss"), ("val/acc", "val/acc"),
])
def test_usual_names_map(name, target):
    assert match(name).target == target


@pytest.mark.parametrize("name", ["lr", "epoch", "step", "val_acc_top5", "train_val_loss", "loss_acc",
                                  "grad_norm", "val_step", "weight_decay"])
def test_other_names_do_not_map(name):
    assert match(name) is None


def test_most_specific_name_wins_and_others_keep_their_names():
    names = ["loss", "train_loss_step", "train_loss_epoch", "test_acc", "val_acc", "val/loss", "val_loss"]
    assert assign(names) == {"train_loss_epoch": "train/loss", "val_acc": "val/acc", "val/loss": "val/loss"}


def test_taken_keys_are_not_assigned_again():
    assert assign(["val_acc", "train_acc"], taken={"val/acc"}) == {"train_acc": "train/acc"}


def test_x_axis_names():
    assert [x_kind(n) for n in ("step", "Step", "global_step", "trainer/global_step", "_step", "epoch", "lr")] == [
        "step", "step", "step", "step", "step", "epoch", None]
