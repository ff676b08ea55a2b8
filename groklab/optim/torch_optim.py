"""The settings and parameter groups of the torch.optim optimizers (Adam, AdamW, SGD): a separate lr and weight
decay for the input embedding (Liu et al. 2022), parameters exempt from weight decay (GPT-2 recipes), and ⊥Grad
(Prieto 2025), which wraps any torch.optim optimizer. The reference optimizer and the vectorised one
(groklab.optim.vectorized) both read `roles`, so they group alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from groklab.config import OptimConfig, refuse_first
from groklab.errors import ConfigError
from groklab.optim.orthograd import OrthoGrad

NO_DECAY = ("bias", "norm")  # optim.no_decay: biases (b_*, *.bias) and normalisation layers' parameters


@dataclass(frozen=True)
class TorchOptimConfig(OptimConfig):
    """What every torch.optim optimizer here takes besides the common part (Muon groups its own parameters)."""

    orthograd: bool = False  # ⊥Grad (Prieto 2025): drop the gradient component parallel to the weights
    embed_lr: float | None = None  # lr of the input embedding W_E (Liu 2022's representation lr); None = lr
    embed_weight_decay: float | None = None  # weight decay of W_E; None = weight_decay
    no_decay: str = ""  # parameters exempt from weight decay: "" | bias | norm | bias,norm (GPT-2 recipes)

    def check(self) -> None:
        super().check()
        refuse_first([
            (self.embed_lr is None or self.embed_lr > 0, f"optim.embed_lr must be > 0 (got {self.embed_lr})"),
            (self.embed_weight_decay is None or self.embed_weight_decay >= 0,
             f"optim.embed_weight_decay must be >= 0 (got {self.embed_weight_decay})"),
            (all(k in NO_DECAY for k in _kinds(self.no_decay)),
             f"optim.no_decay={self.no_decay!r}: expected a comma-separated subset of {', '.join(NO_DECAY)}"),
        ])


def _kinds(text: str) -> set[str]:
    """`optim.no_decay` as its items ("" -> none)."""
    return {item.strip() for item in text.split(",") if item.strip()}


def exempt_from_decay(cfg: TorchOptimConfig, model: nn.Module) -> set[str]:
    """Names of the parameters `optim.no_decay` exempts from weight decay: `bias` (b_* and *.bias) and `norm` (the
    parameters of normalisation layers), as GPT-2 recipes do (the authors of Wang et al. 2024 exempt "bias",
    "LayerNorm.weight" and "ln" in simpletransformers' seq2seq_model.py)."""
    kinds = _kinds(cfg.no_decay)
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


def roles(cfg: TorchOptimConfig, model: nn.Module) -> dict[str, str]:
    """Each parameter's group: "embed" (W_E with `optim.embed_lr` / `optim.embed_weight_decay`), "no_decay"
    (`optim.no_decay`) or "" (the optimizer's own lr and weight decay)."""
    embed = cfg.embed_lr is not None or cfg.embed_weight_decay is not None
    exempt = exempt_from_decay(cfg, model)
    named = dict(model.named_parameters())
    if embed and "W_E" not in {n.rsplit(".", 1)[-1] for n in named}:
        raise ConfigError("optim.embed_lr / optim.embed_weight_decay need a model with an input embedding W_E")
    return {n: "embed" if embed and n.rsplit(".", 1)[-1] == "W_E" else "no_decay" if n in exempt else ""
            for n in named}


def param_groups(cfg: TorchOptimConfig, model: nn.Module) -> list[dict[str, Any]]:
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


def torch_optimizer(cls: type[torch.optim.Optimizer], cfg: TorchOptimConfig, model: nn.Module,
                    **hyper: Any) -> torch.optim.Optimizer:
    """`cls` over `cfg`'s parameter groups with the common lr and weight decay and `hyper` (its own settings),
    wrapped in ⊥Grad when `optim.orthograd` is set."""
    kwargs = {"lr": cfg.lr, "weight_decay": cfg.weight_decay, **hyper}
    if cfg.orthograd:
        return OrthoGrad(param_groups(cfg, model), base_optimizer_cls=cls, **kwargs)
    return cls(param_groups(cfg, model), **kwargs)
