"""The addition toy of Liu et al. 2022 (arXiv 2205.10343, §2; papers.md §02): symbols 0..p-1 (p = 10), the
p(p+1)/2 unordered pairs a <= b (55), label a + b (not mod p, 2p - 1 values).

Regression version (the paper's default): each sum k has a fixed random target `template[k]` ~ N(0, I_30) and
the loss is the MSE to it; accuracy is nearest-template (the `template_acc` probe). Checked against
ejmichaud/grokking-squared `toy/train_add.py` (read): templates N(0, 1) of width output_dim 30, pairs (i, j)
with i <= j in row-major order, a random subset of train_num (45) for training. Here the templates and the
split both come from `task.split_seed`, so they never move with the init seed.
"""

from __future__ import annotations

import torch

from groklab.config import TaskConfig, check_size
from groklab.errors import ConfigError
from groklab.tasks.base import TaskData, split_indices
from groklab.tasks.registry import register


def templates(p: int, dim: int, seed: int) -> torch.Tensor:
    """The 2p - 1 target vectors [2p - 1, dim], N(0, 1)."""
    return torch.randn(2 * p - 1, dim, generator=torch.Generator().manual_seed(seed + 1))


@register("toy_addition")
def build_toy_addition(cfg: TaskConfig) -> TaskData:
    if cfg.op != "x+y":
        raise ConfigError(f"task.name=toy_addition is addition: set task.op=x+y (got {cfg.op!r})")
    if cfg.p is None or cfg.p < 4:
        raise ConfigError(f"task.p must be >= 4 symbols for toy_addition (got {cfg.p})")
    if cfg.template_dim < 1:
        raise ConfigError(f"task.template_dim must be >= 1 (got {cfg.template_dim})")
    p = cfg.p
    n_pairs = p * (p + 1) // 2
    check_size(f"task.p={p} ({n_pairs:,} pairs, {2 * p - 1:,} templates of task.template_dim={cfg.template_dim})",
               200 * n_pairs + 8 * (2 * p - 1) * cfg.template_dim, "choose a smaller task.p or task.template_dim")
    pairs = torch.tensor([(a, b) for a in range(p) for b in range(a, p)], dtype=torch.int64)
    labels = pairs.sum(1)
    table = templates(p, cfg.template_dim, cfg.split_seed)
    train, val = split_indices(len(pairs), cfg.train_frac, cfg.split_seed)
    return TaskData(
        x_train=pairs[train], y_train=table[labels[train]], x_val=pairs[val], y_val=table[labels[val]],
        kind="regression", vocab_size=p,
        meta={"op": "x+y", "p": p, "n_pairs": len(pairs), "templates": table.tolist()},
    )
