"""Sparse soft-gated mixture of residual-MLP experts, gated on (n, k) (mheight.md §4.6).

eothL's best model (0.88 val log2-MSE) mixes 6 ResNet experts with top-2 gating. Here the gate sees only the
(n, k) pair of a sample (read from its one-hots, groklab.tasks.mheight layout): a learned logit table
[n_pairs, n_experts]; each sample mixes its `top_k` highest-logit experts with softmax weights over those k
logits. Every sample of one (n, k) pair therefore goes to the same experts, and each expert runs only on the
samples routed to it. The table starts with pair i preferring expert i mod n_experts (plus N(0, 0.01)
noise), so distinct pairs start on distinct experts instead of collapsing onto one. The output is a convex
combination of experts' softplus outputs, so log2 ĥ >= 0 still holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.config import MAX_LAYERS, check_count
from groklab.errors import ConfigError
from groklab.models.registry import register
from groklab.models.resnet import ResidualMLP
from groklab.models.settings import Depth, Width
from groklab.tasks.base import TaskData


class MoE(nn.Module):
    def __init__(self, in_dim: int, pairs: list[tuple[int, int]], layout: dict[str, list[int]], n_experts: int,
                 top_k: int, width: int, blocks: int, inner: int, act: str = "relu", target_mean: float = 0.0) -> None:
        super().__init__()
        self.top_k, self.n_slice, self.k_slice = top_k, slice(*layout["n"]), slice(*layout["k"])
        self.experts = nn.ModuleList(ResidualMLP(in_dim, width, blocks, inner, act, target_mean)
                                     for _ in range(n_experts))
        n_max, k_max = self.n_slice.stop - self.n_slice.start, self.k_slice.stop - self.k_slice.start
        table = torch.full((n_max, k_max), -1, dtype=torch.long)
        for i, (n, k) in enumerate(pairs):
            table[n - 1, k - 1] = i
        self.register_buffer("pair_index", table)
        logits = torch.randn(len(pairs), n_experts) * 0.01
        logits[torch.arange(len(pairs)), torch.arange(len(pairs)) % n_experts] += 1.0
        self.gate = nn.Parameter(logits)

    def route(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(experts [B, top_k], weights [B, top_k]) of each row, a function of its (n, k) only."""
        pair = self.pair_index[x[:, self.n_slice].argmax(1), x[:, self.k_slice].argmax(1)]
        if bool((pair < 0).any()):
            raise ValueError("a sample's (n, k) pair was not among the task's groups when the model was built")
        top = F.embedding(pair, self.gate).topk(self.top_k, dim=-1)
        return top.indices, torch.softmax(top.values, dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        experts, weights = self.route(x)
        out = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for e, expert in enumerate(self.experts):
            hit = experts == e  # [B, top_k]; an expert appears at most once per row
            rows = hit.any(1).nonzero().squeeze(1)
            if len(rows):
                out = out.index_add(0, rows, expert(x[rows]) * (weights * hit)[rows].sum(1))
        return out


@dataclass(frozen=True)
class ResidualMLPConfig(Depth, Width):
    """d_model: the residual width (64 channels per row of P at paper scale), n_layers: residual blocks, d_mlp:
    their inner width."""

    name: str = "resnet_mlp"


@dataclass(frozen=True)
class MoEConfig(ResidualMLPConfig):
    name: str = "moe"
    n_experts: int = 6  # residual-MLP experts (mheight.md §4.6)
    top_k: int = 2  # experts mixed per sample, gated on (n, k)

    def check(self) -> None:
        super().check()
        if not (self.n_experts >= 1 and 1 <= self.top_k <= self.n_experts):
            raise ConfigError(f"model.top_k must be in 1..model.n_experts (got top_k={self.top_k}, n_experts="
                              f"{self.n_experts})")
        check_count("n_experts", self.n_experts, MAX_LAYERS)


def residual_sizes(cfg: ResidualMLPConfig, task: TaskData) -> dict[str, Any]:
    """The expert's sizes, for a vector-input regression task (task.name=mheight)."""
    if task.kind != "regression" or task.in_dim is None:
        raise ConfigError(f"model.name={cfg.name} needs a vector-input regression task (task.name=mheight)")
    return dict(in_dim=task.in_dim, width=cfg.d_model, blocks=cfg.n_layers, inner=cfg.d_mlp, act=cfg.act,
                target_mean=float(task.meta.get("y_mean", 0.0)))


@register("resnet_mlp", settings=ResidualMLPConfig)
def build_resnet_mlp(cfg: ResidualMLPConfig, task: TaskData) -> nn.Module:
    """One expert: the residual MLP of groklab.models.resnet."""
    return ResidualMLP(**residual_sizes(cfg, task))


@register("moe", settings=MoEConfig)
def build_moe(cfg: MoEConfig, task: TaskData) -> nn.Module:
    """n_experts residual MLPs, top_k of them mixed per sample by a gate on its (n, k)."""
    sizes = residual_sizes(cfg, task)
    if "layout" not in task.meta:
        raise ConfigError("model.name=moe gates on (n, k) and needs task.name=mheight")
    pairs = sorted({(g[0], g[1]) for g in task.meta["groups"]})
    return MoE(pairs=pairs, layout=task.meta["layout"], n_experts=cfg.n_experts, top_k=cfg.top_k, **sizes)
