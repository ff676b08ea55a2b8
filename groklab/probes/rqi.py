"""Representation quality index (RQI) of Liu, Kitouni, Nolte, Michaud, Tegmark, Williams 2022 ("Towards
Understanding Grokking: An Effective Theory of Representation Learning", NeurIPS 2022), papers.md §02.

Why: in the addition toy a generalising embedding is a (near-)linear structure in which every ideal
parallelogram i + n = j + m closes, E_i + E_n = E_j + E_m; the fraction that closes tracks generalisation.

Checked against ejmichaud/grokking-squared `toy/train_add.py` (read, not copied):
- ideal parallelograms: quadruples (i, n, j, m) with i < j <= m < n and i + n = j + m, over symbols 0..p-1;
- the embedding is normalised per dimension to zero mean and unit standard deviation (torch's `std`, i.e. the
  unbiased n-1 estimator);
- a parallelogram is "real" when the mean over dimensions of (E_i + E_n - E_j - E_m)^2 is below 0.01;
- RQI = real / ideal.
A dimension with zero spread gives NaN after normalisation, as in the reference, and then no parallelogram
counts (a collapsed embedding scores 0, not 1).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from groklab.config import ProbeConfig
from groklab.errors import GroklabError
from groklab.probes.registry import register


def parallelograms(p: int) -> Tensor:
    """Ideal parallelograms over 0..p-1, int64 [K, 4] rows (i, n, j, m): i < j <= m < n, i + n = j + m."""
    # n = j + m - i is > m because j > i; it only has to stay below p.
    quads = [
        (i, j + m - i, j, m) for i in range(p) for j in range(i + 1, p) for m in range(j, p) if j + m - i < p
    ]
    return torch.tensor(quads, dtype=torch.int64).reshape(-1, 4)


def rqi(embedding: Tensor, threshold: float = 0.01) -> float:
    """RQI of an embedding [p] or [p, d] (row s is symbol s's representation)."""
    e = embedding.detach().double()
    if e.ndim == 1:
        e = e[:, None]
    if e.ndim != 2 or e.shape[0] < 4:
        raise GroklabError(f"embedding must be [p >= 4] or [p >= 4, d], got {tuple(embedding.shape)}")
    e = (e - e.mean(dim=0, keepdim=True)) / e.std(dim=0, keepdim=True)
    quads = parallelograms(e.shape[0]).to(e.device)
    dist = e[quads[:, 0]] + e[quads[:, 1]] - e[quads[:, 2]] - e[quads[:, 3]]
    return ((dist.pow(2).mean(dim=1) < threshold).double().mean()).item()


def _representation(model: nn.Module, task: Any) -> Tensor:
    """Symbol representations [n_symbols, d]: the model's own `representation()` (liu_toy), else W_E's rows."""
    if hasattr(model, "representation"):
        return model.representation()
    weights = dict(model.named_parameters())
    if "W_E" not in weights:
        raise GroklabError("the rqi probe needs a model with an input embedding W_E or a representation()")
    n = task.meta.get("n_symbols", task.meta.get("p"))
    return weights["W_E"][:n]


@register("rqi")
def rqi_probe(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """Representation quality index of the symbols' embedding (Liu et al. 2022, §2; groklab.probes.rqi)."""
    return {"repr/rqi": rqi(_representation(model, task))}
