"""Optimizers and the learning-rate schedule.

Each optimizer module registers its builder with the settings it reads (groklab.optim.registry): Adam and AdamW
(adam.py), SGD (sgd.py), Muon (muon.py); ⊥Grad and the parameter groups of the torch.optim ones in torch_optim.py.
"""

from __future__ import annotations

import torch

from groklab.config import OptimConfig
from groklab.optim.registry import BUILDERS
from groklab.optim.torch_optim import param_groups, roles

# Each module registers its optimizers when imported, in this order: the order optim.name lists them in.
# isort: off
from groklab.optim import adam, sgd, muon  # noqa: F401
# isort: on


def build_optimizer(cfg: OptimConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The optimizer `optim.name` registered. Each group remembers its base lr for the schedule."""
    optimizer = BUILDERS[cfg.name](cfg, model)
    for group in optimizer.param_groups:
        group["base_lr"] = group["lr"]
        if "adamw_lr" in group:
            group["base_adamw_lr"] = group["adamw_lr"]
    return optimizer


def set_lr(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Scale every group's base learning rate (warm-up), the AdamW part of Muon included."""
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor
        if "base_adamw_lr" in group:
            group["adamw_lr"] = group["base_adamw_lr"] * factor


def lr_at(cfg: OptimConfig, step: int) -> float:
    """Learning rate for the update that takes the model from `step` to `step + 1`.

    Linear warm-up over the first `warmup_steps` updates, then constant (Power 2022: 10 updates). The first
    update uses lr / warmup_steps rather than 0, so no step is wasted.
    """
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    return cfg.lr


__all__ = ["build_optimizer", "lr_at", "param_groups", "roles", "set_lr"]
