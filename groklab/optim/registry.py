"""Optimizers by name: each optimizer module registers its builder with the frozen dataclass of the settings it
reads (`@register("sgd", settings=SGDConfig)`, groklab/registry.py), which `optim.name` then selects as its schema.
A builder takes those settings and the model and returns a torch optimizer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from groklab.config import OPTIMIZERS, OptimConfig
from groklab.registry import Registry

Builder = Callable[[Any, nn.Module], torch.optim.Optimizer]
BUILDERS = Registry("optimizer")


def register(*names: str, settings: type[OptimConfig] = OptimConfig) -> Callable:
    """A decorator registering a builder under `names`, and `settings` (a subclass of OptimConfig) as the schema
    `optim.name` selects."""
    OPTIMIZERS.register(*names)(settings)
    return BUILDERS.register(*names)
