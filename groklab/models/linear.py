"""The linear student of Levi, Beck, Bar-Sinai 2023 (arXiv 2310.16441, §3 and §4.1; papers.md §09).

One layer: f(x) = S^T x, S in R^{d_in x d_out}. Two layers: f(x) = S1^T sigma(S0^T x), S0 in R^{d_in x d_h},
S1 in R^{d_h x d_out}, sigma identity or tanh. No biases (they have no effect on centred data, §3). Every weight
is drawn from N(0, 1/(2 d_{l-1} d_l)) (Appendix A), times `model.init_scale` (the rescaling S -> alpha S of §3.1.3).
The forward is plain matmuls, so it maps over stacked members with torch.func.vmap.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from groklab.errors import ConfigError, GroklabError
from groklab.models.registry import register
from groklab.models.settings import Depth, Scaled
from groklab.tasks.base import TaskData


class LinearStudent(nn.Module):
    def __init__(self, d_in: int, d_out: int, d_hidden: int | None, act: str, init_scale: float) -> None:
        super().__init__()
        sizes = [d_in, d_out] if d_hidden is None else [d_in, d_hidden, d_out]
        self.act = act
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(a, b) * init_scale * (2 * a * b) ** -0.5) for a, b in itertools.pairwise(sizes)
        )

    def forward(self, x: Tensor) -> Tensor:
        """x [batch, d_in] -> [batch, d_out]."""
        h = x.to(self.weights[0].dtype) @ self.weights[0]
        for w in self.weights[1:]:
            h = (torch.tanh(h) if self.act == "tanh" else h) @ w
        return h

    def linear_map(self) -> Tensor:
        """The end-to-end matrix S (S0 S1 for two linear layers), [d_in, d_out]."""
        if self.act == "tanh" and len(self.weights) > 1:
            raise GroklabError("a tanh student has no end-to-end matrix; use model.act=identity")
        out = self.weights[0]
        for w in self.weights[1:]:
            out = out @ w
        return out


@dataclass(frozen=True)
class LinearConfig(Scaled, Depth):
    """n_layers: 1 (S) or 2 (S0, S1 with hidden width d_mlp); init_scale: α of S -> α S (§3.1.3)."""

    name: str = "linear"

    ACTS: ClassVar[tuple[str, ...]] = ("identity", "tanh")

    def check(self) -> None:
        if self.n_layers not in (1, 2):
            raise ConfigError(f"model.name=linear takes model.n_layers=1 or 2 (got {self.n_layers})")
        if self.act not in self.ACTS or (self.act == "tanh" and self.n_layers == 1):
            raise ConfigError(f"model.name=linear takes model.act=identity (or tanh with n_layers=2), got "
                              f"{self.act!r}")
        super().check()


@register("linear", settings=LinearConfig)
def build_linear_student(cfg: LinearConfig, task: TaskData) -> LinearStudent:
    """`model.name=linear`: n_layers 1 or 2 (hidden width model.d_mlp), act identity or tanh (two layers)."""
    if task.in_dim is None or task.kind != "regression":
        raise ConfigError("model.name=linear needs a regression task with vector inputs (task.name=linear_teacher)")
    d_out = 1 if task.y_train.ndim == 1 else int(task.y_train.shape[1])
    return LinearStudent(task.in_dim, d_out, cfg.d_mlp if cfg.n_layers == 2 else None, cfg.act, cfg.init_scale)
