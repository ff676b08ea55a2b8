"""Weight-norm probes: the total L2 norm (Omnigrok, Liu et al. 2022/23: grokking tracks the shrinking
weight norm), per-parameter norms and squared sums (Nanda et al. 2023's "sum of squared weights"), and the
last layer's norm (Thilak et al. 2022: slingshots are cycles of the last layer's weight norm).

All take `{name: tensor}` mappings or `(name, tensor)` pairs such as `model.named_parameters()` or a
state_dict, and accumulate in float64 so the logged value does not depend on the model's dtype. The live probes
`last_layer_norm` and `layer_norms` log them during training.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from groklab.config import ProbeConfig
from groklab.errors import GroklabError
from groklab.probes.registry import register

Named = Mapping[str, Tensor] | Iterable[tuple[str, Tensor]]


def _items(named: Named) -> list[tuple[str, Tensor]]:
    return list(named.items()) if isinstance(named, Mapping) else list(named)


def _sq(t: Tensor) -> float:
    return t.detach().double().pow(2).sum().item()


@torch.no_grad()
def total_norm(tensors: Named | Iterable[Tensor]) -> float:
    """sqrt(sum of all squared entries) over every tensor: the `params/norm` metric."""
    items = tensors.values() if isinstance(tensors, Mapping) else tensors
    total = 0.0
    for t in items:
        total += _sq(t[1] if isinstance(t, tuple) else t)
    return total**0.5


@torch.no_grad()
def param_norms(named: Named, squared: bool = False) -> dict[str, float]:
    """{name: L2 norm} per tensor; `squared=True` gives Nanda's per-parameter sum of squared weights."""
    return {name: (_sq(t) if squared else _sq(t) ** 0.5) for name, t in _items(named)}


@torch.no_grad()
def last_layer_norm(named: Named, name: str) -> float:
    """L2 norm of the tensor called `name` (e.g. "W_U" or "W_out"): the `params/last_layer_norm` metric."""
    items = dict(_items(named))
    if name not in items:
        close = difflib.get_close_matches(name, items, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise GroklabError(f"no parameter named {name!r}{hint}")
    return _sq(items[name]) ** 0.5


def last_layer_name(model: nn.Module) -> str:
    """The output layer's weight: the last registered parameter that is not a bias or a norm gain."""
    names = [n for n, p in model.named_parameters() if p.ndim >= 2]
    return names[-1]


@register("last_layer_norm")
def last_layer_norm_probe(model: nn.Module, data: dict[str, Tensor], task: Any,
                          settings: ProbeConfig) -> dict[str, float]:
    """‖W_last‖ (Thilak et al. 2022: its cycles mark the Slingshot)."""
    weight = dict(model.named_parameters())[last_layer_name(model)]
    return {"params/last_layer_norm": weight.detach().double().norm().item()}


@register("layer_norms")
def layer_norms_probe(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """L2 norm of every parameter tensor (openai/grok logs `paramnorm_*`)."""
    return {f"params/norm/{n}": p.detach().double().norm().item() for n, p in model.named_parameters()}
