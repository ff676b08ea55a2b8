"""Adam and AdamW (torch.optim) and their settings.

adamw: decoupled weight decay (Loshchilov & Hutter), what Power 2022 and Nanda 2023 use.
adam: torch's Adam, whose weight_decay is an L2 term added to the gradient (coupled), as in Grokfast's
reference code (papers.md §0 "Weight decay means different things").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from groklab.config import refuse_first
from groklab.optim.registry import register
from groklab.optim.torch_optim import TorchOptimConfig, torch_optimizer


@dataclass(frozen=True)
class AdamConfig(TorchOptimConfig):
    """Adam's moment decays and denominator guard (Kingma & Ba 2015); Power 2022 uses beta2 0.98."""

    name: str = "adamw"  # adamw (decoupled decay) | adam (coupled L2, torch's Adam)
    beta1: float = 0.9
    beta2: float = 0.98
    eps: float = 1e-8

    def check(self) -> None:
        super().check()
        refuse_first(moment_checks(self.beta1, self.beta2, self.eps))


def moment_checks(beta1: float, beta2: float, eps: float) -> list[tuple[bool, str]]:
    """The rules of Adam's settings (Muon's AdamW part takes them too)."""
    return [(0 <= beta1 < 1 and 0 <= beta2 < 1, "optim.beta1 and optim.beta2 must be in [0, 1)"),
            (eps > 0, f"optim.eps must be > 0 (got {eps})")]


@register("adamw", settings=AdamConfig)
def adamw(cfg: AdamConfig, model: nn.Module) -> torch.optim.Optimizer:
    return torch_optimizer(torch.optim.AdamW, cfg, model, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)


@register("adam", settings=AdamConfig)
def adam(cfg: AdamConfig, model: nn.Module) -> torch.optim.Optimizer:
    return torch_optimizer(torch.optim.Adam, cfg, model, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)
