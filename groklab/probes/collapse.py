"""Softmax collapse (Prieto, Barsbey, Mediano, Birdal 2025, papers.md): the share of training samples whose
softmax has rounded to a one-hot at the loss's precision, so their gradient vanishes, and whose loss is exactly 0."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from groklab.config import ProbeConfig
from groklab.losses import softmax_collapse_fraction, zero_loss_fraction
from groklab.probes.registry import register


@register("softmax_collapse")
@torch.no_grad()
def softmax_collapse(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """Fraction of training samples whose float32 softmax has collapsed, and whose loss is exactly 0 (Prieto 2025);
    and the collapse in float64 (`train/softmax_collapse64`), where the same logits keep their gradient much longer:
    Prieto's logger measures SC at the loss's precision, so a float64 run's collapse is this column."""
    logits = model(data["x_train"])
    return {"train/softmax_collapse": softmax_collapse_fraction(logits, precision=32),
            "train/softmax_collapse64": softmax_collapse_fraction(logits, precision=64),
            "train/zero_loss": zero_loss_fraction(logits, data["y_train"], precision=32)}
