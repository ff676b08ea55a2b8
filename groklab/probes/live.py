"""Probes measured during training, at every evaluation, chosen by `train.probes=a,b`.

Each takes (model, data, task, settings: the config's `probe` section) and returns namespaced metrics. The
Fourier progress measures run on saved checkpoints instead (`groklab probe fourier RUN_DIR`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from groklab.config import ProbeConfig
from groklab.errors import GroklabError
from groklab.losses import softmax_collapse_fraction, zero_loss_fraction
from groklab.probes.adversarial import pgd_accuracy
from groklab.probes.ipr import mean_ipr
from groklab.probes.linear_teacher import generalization_loss
from groklab.probes.local_complexity import local_complexity, uniform_points
from groklab.probes.mheight import mheight_groups
from groklab.probes.rqi import rqi

Probe = Callable[[nn.Module, dict[str, Tensor], Any, ProbeConfig], dict[str, float]]


def last_layer_name(model: nn.Module) -> str:
    """The output layer's weight: the last registered parameter that is not a bias or a norm gain."""
    names = [n for n, p in model.named_parameters() if p.ndim >= 2]
    return names[-1]


def last_layer_norm(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """‖W_last‖ (Thilak et al. 2022: its cycles mark the Slingshot)."""
    weight = dict(model.named_parameters())[last_layer_name(model)]
    return {"params/last_layer_norm": weight.detach().double().norm().item()}


def layer_norms(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """L2 norm of every parameter tensor (openai/grok logs `paramnorm_*`)."""
    return {f"params/norm/{n}": p.detach().double().norm().item() for n, p in model.named_parameters()}


@torch.no_grad()
def softmax_collapse(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """Fraction of training samples whose float32 softmax has collapsed, and whose loss is exactly 0 (Prieto 2025);
    and the collapse in float64 (`train/softmax_collapse64`), where the same logits keep their gradient much longer:
    Prieto's logger measures SC at the loss's precision, so a float64 run's collapse is this column."""
    logits = model(data["x_train"])
    return {"train/softmax_collapse": softmax_collapse_fraction(logits, precision=32),
            "train/softmax_collapse64": softmax_collapse_fraction(logits, precision=64),
            "train/zero_loss": zero_loss_fraction(logits, data["y_train"], precision=32)}


def _representation(model: nn.Module, task: Any) -> Tensor:
    """Symbol representations [n_symbols, d]: the model's own `representation()` (liu_toy), else W_E's rows."""
    if hasattr(model, "representation"):
        return model.representation()
    weights = dict(model.named_parameters())
    if "W_E" not in weights:
        raise GroklabError("the rqi probe needs a model with an input embedding W_E or a representation()")
    n = task.meta.get("n_symbols", task.meta.get("p"))
    return weights["W_E"][:n]


def rqi_probe(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """Representation quality index of the symbols' embedding (Liu et al. 2022, §2; groklab.probes.rqi)."""
    return {"repr/rqi": rqi(_representation(model, task))}


def ipr_probe(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """Mean over neurons of the Fourier IPR (r = 2) of their weights (Gromov 2023; Doshi et al. 2024, Eq. 4)."""
    if not hasattr(model, "fourier_weights"):
        raise GroklabError("the ipr probe needs model.name=mlp_concat (per-neuron weights over Z_p)")
    return {"fourier/ipr": mean_ipr(*model.fourier_weights())}


@torch.no_grad()
def template_acc(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """Nearest-template accuracy of a regression task with target templates (Liu et al. 2022's toy): the output
    counts as correct when the template nearest to it is the target's."""
    if "templates" not in task.meta:
        raise GroklabError("the template_acc probe needs a task with target templates (task.name=toy_addition)")
    table = torch.tensor(task.meta["templates"], device=data["y_train"].device, dtype=data["y_train"].dtype)
    out = {}
    for split in ("train", "val"):
        pred = torch.cdist(model(data[f"x_{split}"]).to(table.dtype), table).argmin(-1)
        true = torch.cdist(data[f"y_{split}"], table).argmin(-1)
        out[f"{split}/acc"] = (pred == true).double().mean().item()
    return out


def _preactivations(model: nn.Module) -> Any:
    if not hasattr(model, "preactivations"):
        raise GroklabError("the lc probe needs a model with per-layer pre-activations (model.name=image_mlp)")
    return model.preactivations


@torch.no_grad()
def lc_probe(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """Local complexity around training, test and uniform random points: the total (`lc/<set>`) and per layer
    (`lc/<set>/layer<i>`, the read-out last), mean over the points (groklab.probes.local_complexity)."""
    preact, n = _preactivations(model), settings.lc_points
    x = data["x_train"]
    sets = {"train": x[:n], "test": data["x_val"][:n],
            "random": uniform_points(n, x.shape[1], settings.lc_seed, x.dtype, x.device)}
    out: dict[str, float] = {}
    for name, points in sets.items():
        per_layer = local_complexity(preact, points, settings.lc_vertices, settings.lc_radius,
                                     settings.lc_seed).tolist()
        out[f"lc/{name}"] = sum(per_layer)
        out |= {f"lc/{name}/layer{i}": v for i, v in enumerate(per_layer)}
    return out


def adv_probe(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """Accuracy under ℓ∞ PGD on the first probe.adv_points test inputs (groklab.probes.adversarial)."""
    x, y = data["x_val"][: settings.adv_points], data["y_val"][: settings.adv_points]
    return {"adv/acc": pgd_accuracy(model, x, y, settings.adv_eps, settings.adv_step, settings.adv_iters)}


PROBES: dict[str, Probe] = {
    "rqi": rqi_probe,
    "ipr": ipr_probe,
    "template_acc": template_acc,
    "last_layer_norm": last_layer_norm,
    "layer_norms": layer_norms,
    "softmax_collapse": softmax_collapse,
}
PROBES["mheight_groups"] = mheight_groups  # per-group validation log2-MSE (probes/mheight.py)
PROBES["lc"] = lc_probe  # local complexity (probes/local_complexity.py)
PROBES["adv"] = adv_probe  # PGD adversarial accuracy (probes/adversarial.py)
PROBES["levi_gen_loss"] = generalization_loss  # exact (1/d_out)||S - T||^2 (probes/linear_teacher.py)


def probe_names(spec: str) -> list[str]:
    return [n.strip() for n in spec.split(",") if n.strip()]
