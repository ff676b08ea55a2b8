"""Optimizers and the learning-rate schedule.

adamw: decoupled weight decay (Loshchilov & Hutter), what Power 2022 and Nanda 2023 use.
adam: torch's Adam, whose weight_decay is an L2 term added to the gradient (coupled), as in Grokfast's
reference code (papers.md §0 "Weight decay means different things").
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from groklab.config import OPTIMIZERS, OptimConfig
from groklab.errors import ConfigError
from groklab.optim.muon import Muon
from groklab.optim.orthograd import OrthoGrad

EMBEDS = ("W_E", "W_pos", "W_U")
_BASES: dict[str, type[torch.optim.Optimizer]] = {
    "adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}
OPTIMIZERS.register("adamw", "adam", "sgd", "muon")(OptimConfig)  # transitional: one flat schema for all


def _base_kwargs(cfg: OptimConfig) -> dict[str, Any]:
    if cfg.name == "sgd":
        return {"lr": cfg.lr, "momentum": cfg.momentum, "weight_decay": cfg.weight_decay}
    return {"lr": cfg.lr, "betas": (cfg.beta1, cfg.beta2), "eps": cfg.eps, "weight_decay": cfg.weight_decay}


def exempt_from_decay(cfg: OptimConfig, model: nn.Module) -> set[str]:
    """Names of the parameters `optim.no_decay` exempts from weight decay: `bias` (b_* and *.bias) and `norm` (the
    parameters of normalisation layers), as GPT-2 recipes do (the authors of Wang et al. 2024 exempt "bias",
    "LayerNorm.weight" and "ln" in simpletransformers' seq2seq_model.py)."""
    kinds = {k.strip() for k in cfg.no_decay.split(",") if k.strip()}
    names: set[str] = set()
    if "norm" in kinds:
        norms = (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm, nn.modules.batchnorm._NormBase)
        for prefix, module in model.named_modules():
            if isinstance(module, norms):
                names |= {f"{prefix}.{n}" if prefix else n for n, _ in module.named_parameters(recurse=False)}
    if "bias" in kinds:
        names |= {n for n, _ in model.named_parameters() if (leaf := n.rsplit(".", 1)[-1]) == "bias"
                  or leaf.startswith("b_")}
    return names


def roles(cfg: OptimConfig, model: nn.Module) -> dict[str, str]:
    """Each parameter's group: "embed" (W_E with `optim.embed_lr` / `optim.embed_weight_decay`), "no_decay"
    (`optim.no_decay`) or "" (the optimizer's own lr and weight decay). The reference optimizer and the vectorised
    one (groklab.optim.vectorized) both read it, so they group alike."""
    embed = cfg.embed_lr is not None or cfg.embed_weight_decay is not None
    exempt = exempt_from_decay(cfg, model)
    named = dict(model.named_parameters())
    if embed and "W_E" not in {n.rsplit(".", 1)[-1] for n in named}:
        raise ConfigError("optim.embed_lr / optim.embed_weight_decay need a model with an input embedding W_E")
    return {n: "embed" if embed and n.rsplit(".", 1)[-1] == "W_E" else "no_decay" if n in exempt else ""
            for n in named}


def param_groups(cfg: OptimConfig, model: nn.Module) -> list[dict[str, Any]]:
    """All parameters in one group; or the input embedding W_E in a group of its own when `optim.embed_lr` or
    `optim.embed_weight_decay` is set (Liu et al. 2022 train representations and decoder with two AdamWs), then the
    rest, then the parameters `optim.no_decay` exempts (weight decay 0)."""
    role = roles(cfg, model)
    named = list(model.named_parameters())
    if not any(role.values()):
        return [{"params": [p for _, p in named]}]
    groups: list[dict[str, Any]] = []
    if "embed" in role.values():
        group: dict[str, Any] = {"params": [p for n, p in named if role[n] == "embed"]}
        if cfg.embed_lr is not None:
            group["lr"] = cfg.embed_lr
        if cfg.embed_weight_decay is not None:
            group["weight_decay"] = cfg.embed_weight_decay
        groups.append(group)
    groups.append({"params": [p for n, p in named if role[n] == ""]})
    if "no_decay" in role.values():
        groups.append({"params": [p for n, p in named if role[n] == "no_decay"], "weight_decay": 0.0})
    return groups


def build_optimizer(cfg: OptimConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer of a config; ⊥Grad wraps any of them. Each group remembers its base lr for the schedule."""
    if cfg.name == "muon":  # hidden 2-D matrices to Muon; embeddings, unembedding and the rest to AdamW
        hidden = [p for n, p in model.named_parameters() if p.ndim == 2 and n.rsplit(".", 1)[-1] not in EMBEDS]
        rest = [p for n, p in model.named_parameters() if not (p.ndim == 2 and n.rsplit(".", 1)[-1] not in EMBEDS)]
        groups = [{"params": hidden, "use_muon": True}, {"params": rest, "use_muon": False}]
        optimizer: torch.optim.Optimizer = Muon(
            [g for g in groups if g["params"]], lr=cfg.muon_lr, weight_decay=cfg.weight_decay, adamw_lr=cfg.lr,
            adamw_betas=(cfg.beta1, cfg.beta2), adamw_eps=cfg.eps, adamw_weight_decay=cfg.weight_decay)
    elif cfg.orthograd:
        optimizer = OrthoGrad(param_groups(cfg, model), base_optimizer_cls=_BASES[cfg.name], **_base_kwargs(cfg))
    else:
        optimizer = _BASES[cfg.name](param_groups(cfg, model), **_base_kwargs(cfg))
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
