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
    # An analytic prediction of the run's dynamics, predict(run_config) -> JSON-able dict (Levi 2023: the step
    # at which validation accuracy crosses 95%), for the run code to store in summary.json next to the measured.
    predict: Callable[[Any], dict[str, Any]] | None = None

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
