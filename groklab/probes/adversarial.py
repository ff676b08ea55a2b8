"""Adversarial accuracy under ℓ∞ projected gradient descent (Madry et al. 2018), the robustness measure of
Humayun, Balestriero, Baraniuk 2024 ("delayed robustness", arXiv 2402.15555; papers.md §06).

As the authors' attack (AhmedImtiazPrio/grok-adversarial `attacks.py`, class PGD, read at 1767226, not copied):
the loss is cross-entropy on the logits whatever the training loss; the start is the clean input (the class
stores a `random_start` flag that `__call__` never reads, so no random start); each step moves by
`step_size · sign(∇x loss)`, projects back onto the ε-ball around the clean input and clamps to the data range.
Here the range is [0, 1] (pixels scaled as groklab.tasks.images does); the loss is taken in float64 so that a
confident float32 model still has a gradient to follow.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.config import ProbeConfig
from groklab.errors import GroklabError
from groklab.probes.registry import register


def pgd_attack(model: nn.Module, x: Tensor, y: Tensor, eps: float, step_size: float, iters: int,
               lo: float = 0.0, hi: float = 1.0) -> Tensor:
    """Adversarial inputs within ‖x_adv − x‖∞ ≤ eps and [lo, hi]; the model's parameters get no gradient."""
    if eps < 0 or step_size < 0 or iters < 0:
        raise GroklabError(f"PGD needs eps, step_size and iters >= 0 (got {eps}, {step_size}, {iters})")
    x = x.detach()
    x_adv = x
    with torch.enable_grad():
        for _ in range(iters):
            x_adv = x_adv.clone().requires_grad_(True)
            loss = F.cross_entropy(model(x_adv).double(), y)
            (grad,) = torch.autograd.grad(loss, x_adv)
            step = x_adv.detach() + step_size * grad.sign()
            x_adv = torch.clamp(x + torch.clamp(step - x, -eps, eps), lo, hi)
    return x_adv.detach()


@torch.no_grad()
def pgd_accuracy(model: nn.Module, x: Tensor, y: Tensor, eps: float, step_size: float, iters: int) -> float:
    """Accuracy on PGD-perturbed x (eps = 0 gives the clean accuracy)."""
    x_adv = pgd_attack(model, x, y, eps, step_size, iters)
    return (model(x_adv).argmax(-1) == y).double().mean().item()


@register("adv")
def adv_probe(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """Accuracy under ℓ∞ PGD on the first probe.adv_points test inputs (groklab.probes.adversarial)."""
    x, y = data["x_val"][: settings.adv_points], data["y_val"][: settings.adv_points]
    return {"adv/acc": pgd_accuracy(model, x, y, settings.adv_eps, settings.adv_step, settings.adv_iters)}
