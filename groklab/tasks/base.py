"""The data every task hands to the training loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from groklab.errors import ConfigError


@dataclass(frozen=True)
class TaskData:
    x_train: torch.Tensor  # [N_train, seq] int64 tokens, or [N_train, in_dim] float features
    y_train: torch.Tensor  # [N_train] int64 classes (classification) or [N_train(, out)] float (regression)
    x_val: torch.Tensor
    y_val: torch.Tensor
    kind: str  # "classification" (accuracy is a metric) or "regression" (MSE only)
    n_classes: int | None = None  # classification: number of output classes
    vocab_size: int | None = None  # token inputs: size of the input vocabulary
    in_dim: int | None = None  # vector inputs: feature width
    meta: dict[str, Any] = field(default_factory=dict)  # JSON-able description (p, op, ...)
    # Extra evaluation splits beyond train and val, {name: (x, y)}: measured at every evaluation and logged as
    # `<name>/loss` (and `<name>/acc`), e.g. Wang 2024's `test_inferred_ood`. `val` stays the split verdicts use.
    evals: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    # A regression task scored by accuracy: correct(outputs, targets) -> [N] bool, whether each sample counts as
    # right (Levi 2023: mean squared error over outputs below eps). Engines log `<split>/acc` from it when set.
    correct: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    # A task's own term of the training objective, (outputs, inputs, train config) -> scalar or None, added on
    # training batches only (the m-height violation penalty): the loop has no task-specific branch.
    penalty: Callable[[torch.Tensor, torch.Tensor, Any], torch.Tensor | None] | None = None
    # The group of every training and validation row (m-height: its (n, k, m)), for per-group baselines.
    groups: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def seq_len(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])


def split_indices(n: int, train_frac: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A random split of range(n) with its own seed, so the split never moves with the init seed."""
    if not 0 < train_frac < 1:
        raise ConfigError(f"task.train_frac must be in (0, 1) (got {train_frac})")
    n_train = round(n * train_frac)
    if n_train == 0 or n_train == n:
        side = "training" if n_train == 0 else "validation"
        raise ConfigError(f"task.train_frac={train_frac} leaves the {side} split empty ({n} examples in all)")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[:n_train], perm[n_train:]


BASELINES = ("auto", "mean", "group_mean", "none")


def trivial_baseline(task: TaskData, kind: str = "auto") -> dict[str, Any] | None:
    """The constant predictor a regression model must beat (issue 17): the training-set mean per group where the
    task has groups (m-height: per (n, k, m)), else the global training mean, and its mean squared error on the
    training and validation sets, in float64 and in the units of `train/loss` and `val/loss`. None for
    classification (chance is its baseline) and for kind `none`."""
    if kind not in BASELINES:
        raise ConfigError(f"train.baseline={kind!r}: expected one of {', '.join(BASELINES)}")
    if kind == "none" or (kind == "auto" and task.kind != "regression"):
        return None
    if task.kind != "regression":
        raise ConfigError(f"train.baseline={kind} applies to regression tasks; this task is {task.kind}")
    if kind == "group_mean" and task.groups is None:
        raise ConfigError("train.baseline=group_mean needs a task with groups (task.name=mheight)")
    y_tr = task.y_train.double().reshape(task.n_train, -1)
    y_va = task.y_val.double().reshape(len(task.y_val), -1)
    if task.groups is None or kind == "mean":
        mean = y_tr.mean(0)
        pred_tr, pred_va, label, n = mean.expand_as(y_tr), mean.expand_as(y_va), "train mean", 1
    else:
        g_tr, g_va = task.groups
        n = int(max(g_tr.max(), g_va.max())) + 1
        sums = torch.zeros(n, y_tr.shape[1], dtype=torch.float64).index_add_(0, g_tr, y_tr)
        counts = torch.bincount(g_tr, minlength=n).double()[:, None]
        means = torch.where(counts > 0, sums / counts.clamp(min=1), y_tr.mean(0))  # a group without rows: global
        pred_tr, pred_va, label = means[g_tr], means[g_va], "group mean"
    return {"kind": label, "groups": n, "train/loss": float(((pred_tr - y_tr) ** 2).mean()),
            "val/loss": float(((pred_va - y_va) ** 2).mean())}


