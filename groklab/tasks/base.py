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
    # What the inputs were made with that was fitted on the training rows (m-height: the features' standardisation,
    # the entry scale, the groups' order), JSON-able: saved in the run folder, and passed back to the task's builder
    # to encode new data the way the model was trained (groklab evaluate). Empty where inputs need no fitting.
    fitted: dict[str, Any] = field(default_factory=dict)

    @property
    def seq_len(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])


@dataclass(frozen=True)
class Split:
    """The key of every task that splits one pool of examples at random (a mixin of their schemas: `class
    XConfig(Split, TaskConfig)`); `task.split_seed` draws the split."""

    train_frac: float = 0.5  # fraction of all examples used for training, the rest is validation (Power 2022)


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
    """The constant predictor a regression model must beat: the training-set mean per group where the
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
        means = group_means(y_tr, g_tr, n)
        pred_tr, pred_va, label = means[g_tr], means[g_va], "group mean"
    out = {"kind": label, "groups": n, "train/loss": float(((pred_tr - y_tr) ** 2).mean()),
           "val/loss": float(((pred_va - y_va) ** 2).mean())}
    if label == "group mean":  # per group too, keyed as the task names its groups (m-height: "n,k,m")
        names = [",".join(map(str, g)) for g in task.meta.get("groups", [])] or [str(i) for i in range(n)]
        out["val/loss per group"] = {names[i]: float(((pred_va - y_va)[g_va == i] ** 2).mean())
                                     for i in range(n) if (g_va == i).any()}
    return out


def group_means(y: torch.Tensor, group: torch.Tensor, n: int) -> torch.Tensor:
    """[n, out] mean label of each group's rows (float64); a group without rows gets the global mean."""
    sums = torch.zeros(n, y.shape[1], dtype=torch.float64).index_add_(0, group, y)
    counts = torch.bincount(group, minlength=n).double()[:, None]
    return torch.where(counts > 0, sums / counts.clamp(min=1), y.mean(0))


def shapes(task: TaskData) -> dict[str, Any]:
    """What a model is built for: kind, classes, vocabulary, input width, input dtype and row shape, groups."""
    return {"kind": task.kind, "n_classes": task.n_classes, "vocab_size": task.vocab_size, "in_dim": task.in_dim,
            "x": [str(task.x_train.dtype).removeprefix("torch."), *task.x_train.shape[1:]],
            "groups": len(task.meta["groups"]) if task.groups is not None else None}


def fitted_record(task: TaskData) -> dict[str, Any]:
    """Everything a model trained on `task` needs to score other data (groklab evaluate), JSON-able: the shapes
    it was built for, the training labels' mean (per group where the task has groups: what the trivial baseline
    predicts, so the baseline on new data is the one fitted here) and the task's own fitted statistics
    (TaskData.fitted)."""
    record = shapes(task) | {"label_mean": None, "task": task.fitted}
    if task.kind == "regression":
        y = task.y_train.double().reshape(task.n_train, -1)
        groups = record["groups"]
        means = y.mean(0, keepdim=True) if groups is None else group_means(y, task.groups[0], groups)
        record["label_mean"] = means.tolist()
    return record


def check_fits(task: TaskData, record: dict[str, Any]) -> None:
    """Refuse, with one line, data whose shapes differ from those the run's model was built for."""
    mine = shapes(task)
    for key, value in mine.items():
        if value != record[key]:
            raise ConfigError(f"the data does not fit the run's model: {key} is {value} where the model was "
                              f"trained on {record[key]}")


