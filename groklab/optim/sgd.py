"""SGD (torch.optim, dampening 0, no Nesterov) and its settings: plain gradient descent with momentum 0, the
setting of Levi et al. 2023's linear teacher (papers.md §09)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from groklab.config import refuse_first
from groklab.optim.registry import register
from groklab.optim.torch_optim import TorchOptimConfig, torch_optimizer


@dataclass(frozen=True)
class SGDConfig(TorchOptimConfig):
    name: str = "sgd"
    momentum: float = 0.0  # heavy-ball momentum (torch's buf <- momentum * buf + g); 0 = plain gradient descent

    def check(self) -> None:
        super().check()
        refuse_first([(self.momentum >= 0, f"optim.momentum must be >= 0 (got {self.momentum})")])


@register("sgd", settings=SGDConfig)
def sgd(cfg: SGDConfig, model: nn.Module) -> torch.optim.Optimizer:
    return torch_optimizer(torch.optim.SGD, cfg, model, momentum=cfg.momentum)
