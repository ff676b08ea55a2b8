"""A residual MLP with one output head per (n, k, m) group, for the m-height regression.

The groups differ by orders of magnitude in the spread of their labels (log2 std 0.3 for the easy groups, 1.9 for
m = n-k, mheight.md §4.4), so each group gets its own head and its own output scale: log2 ĥ = softplus(mu_g +
sigma_g z_g(x)), with mu_g and sigma_g the training labels' mean and std of group g (buffers fixed at build time)
and z_g the g-th output of a shared pre-LN residual trunk (groklab.models.resnet.Block) that also sees a learned
embedding of the group. Training on the plain MSE then weighs every group's standardised error by sigma_g^2, which
is the course metric (§4.5). softplus keeps ĥ >= 1 as the other m-height models do. The group of a row is read
from its n, k, m one-hots (groklab.tasks.mheight layout), so the model takes the task's rows unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.errors import ConfigError
from groklab.models.registry import register
from groklab.models.resnet import Block
from groklab.models.settings import Depth, Width
from groklab.tasks.base import TaskData


class GroupHeads(nn.Module):
    def __init__(self, in_dim: int, groups: list[tuple[int, int, int]], layout: dict[str, list[int]],
                 mean: Tensor, std: Tensor, width: int, blocks: int, inner: int, act: str = "gelu") -> None:
        super().__init__()
        self.slices = [slice(*layout[c]) for c in "nkm"]
        sizes = [s.stop - s.start for s in self.slices]
        table = torch.full(sizes, -1, dtype=torch.long)
        for i, (n, k, m) in enumerate(groups):
            table[n - 1, k - 1, m - 1] = i
        self.register_buffer("group_index", table)
        self.register_buffer("mean", mean.float())
        self.register_buffer("std", std.float())
        self.inp = nn.Linear(in_dim, width)
        self.embed = nn.Embedding(len(groups), width)
        self.blocks = nn.ModuleList(Block(width, inner, act) for _ in range(blocks))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, len(groups))
        self.act = F.relu if act == "relu" else F.gelu
        nn.init.zeros_(self.head.weight)  # start at every group's mean label
        nn.init.zeros_(self.head.bias)

    def group(self, x: Tensor) -> Tensor:
        """Group index of each row, from its n, k, m one-hots; -1 for a group the model was not built with, which
        the embedding lookup rejects (IndexError). No data-dependent check here: the vectorised engine vmaps it."""
        return self.group_index[tuple(x[:, s].argmax(1) for s in self.slices)]

    def forward(self, x: Tensor) -> Tensor:
        g = self.group(x)
        h = self.inp(x) + self.embed(g)
        for block in self.blocks:
            h = block(h)
        z = self.head(self.act(self.norm(h))).gather(1, g[:, None]).squeeze(1)
        return F.softplus(self.mean[g] + self.std[g] * z)


@dataclass(frozen=True)
class GroupHeadsConfig(Depth, Width):
    """d_model: the trunk's width, n_layers: its residual blocks, d_mlp: their inner width."""

    name: str = "group_heads"


@register("group_heads", settings=GroupHeadsConfig)
def build_group_heads(cfg: GroupHeadsConfig, task: TaskData) -> nn.Module:
    """`group_heads` for task.name=mheight: width model.d_model, model.n_layers blocks of inner width model.d_mlp."""
    if task.kind != "regression" or task.in_dim is None or "layout" not in task.meta or task.groups is None:
        raise ConfigError(f"model.name={cfg.name} needs task.name=mheight")
    groups = [tuple(g) for g in task.meta["groups"]]
    which, y = task.groups[0], task.y_train.double()  # real tensors, also when built on the meta device (engine.check)
    # A group without training rows (a model rebuilt to score new data, whose checkpoint then sets these
    # buffers) gets mean 0 and std 1.
    mean = torch.stack([y[which == i].mean() if (which == i).any() else y.new_zeros(()) for i in range(len(groups))])
    std = torch.stack([y[which == i].std() if (which == i).sum() > 1 else y.new_ones(())
                       for i in range(len(groups))]).clamp_min(1e-3)
    return GroupHeads(task.in_dim, groups, task.meta["layout"], mean, std, cfg.d_model, cfg.n_layers, cfg.d_mlp,
                      cfg.act)
