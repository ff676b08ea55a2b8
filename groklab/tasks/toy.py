"""The addition toy of Liu et al. 2022 (arXiv 2205.10343, §2; papers.md §02): symbols 0..p-1 (p = 10), the
p(p+1)/2 unordered pairs a <= b (55), label a + b (not mod p, 2p - 1 values).

Regression version (the paper's default): each sum k has a fixed random target `template[k]` ~ N(0, I_30) and
the loss is the MSE to it; accuracy is nearest-template (the `template_acc` probe). Checked against
ejmichaud/grokking-squared `toy/train_add.py` (read): templates N(0, 1) of width output_dim 30, pairs (i, j)
with i <= j in row-major order, a random subset of train_num (45) for training. Here the templates and the
split both come from `task.split_seed`, so they never move with the init seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from groklab.config import TaskConfig, check_size
from groklab.errors import ConfigError
from groklab.tasks.base import Split, TaskData, split_indices
from groklab.tasks.modular import op_label
from groklab.tasks.registry import register


def templates(p: int, dim: int, seed: int) -> torch.Tensor:
    """The 2p - 1 target vectors [2p - 1, dim], N(0, 1)."""
    return torch.randn(2 * p - 1, dim, generator=torch.Generator().manual_seed(seed + 1))


@dataclass(frozen=True)
class ToyAdditionConfig(Split, TaskConfig):
    """`task.name=toy_addition`: Liu et al. 2022's addition toy (§2), a + b over unordered pairs of p symbols."""

    name: str = "toy_addition"
    op: str = "x/y"  # x+y only (the toy is addition); the default is modular's x/y, from which run names hash the
    # difference
    p: int | None = 97  # symbols 0..p-1 (Liu et al.: 10)
    template_dim: int = 30  # width of the random target templates (Liu et al. 2022: output_dim 30)

    def check(self) -> None:
        if self.op != "x+y":
            raise ConfigError(f"task.name=toy_addition is addition: set task.op=x+y (got {self.op!r})")
        if self.p is None or self.p < 4:
            raise ConfigError(f"task.p must be >= 4 symbols for toy_addition (got {self.p})")
        if self.template_dim < 1:
            raise ConfigError(f"task.template_dim must be >= 1 (got {self.template_dim})")
        n_pairs = self.p * (self.p + 1) // 2
        check_size(f"task.p={self.p} ({n_pairs:,} pairs, {2 * self.p - 1:,} templates of task.template_dim="
                   f"{self.template_dim})", 200 * n_pairs + 8 * (2 * self.p - 1) * self.template_dim,
                   "choose a smaller task.p or task.template_dim")

    def label(self) -> str:
        return op_label(self.op)


@register("toy_addition", settings=ToyAdditionConfig)
def build_toy_addition(cfg: ToyAdditionConfig) -> TaskData:
    cfg.check()
    p = cfg.p
    pairs = torch.tensor([(a, b) for a in range(p) for b in range(a, p)], dtype=torch.int64)
    labels = pairs.sum(1)
    table = templates(p, cfg.template_dim, cfg.split_seed)
    train, val = split_indices(len(pairs), cfg.train_frac, cfg.split_seed)
    return TaskData(
        x_train=pairs[train], y_train=table[labels[train]], x_val=pairs[val], y_val=table[labels[val]],
        kind="regression", vocab_size=p,
        meta={"op": "x+y", "p": p, "n_pairs": len(pairs), "templates": table.tolist()},
    )
