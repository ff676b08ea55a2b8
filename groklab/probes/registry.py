"""Live probes by name (`train.probes=a,b`): each probe module registers its probes (`@register("rqi")`,
groklab/registry.py), and groklab.probes.live imports those modules, so adding a probe is one file.

A probe takes (model, data, task, settings: the config's `probe` section) and returns namespaced metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from groklab.config import ProbeConfig
from groklab.registry import Registry

Probe = Callable[[nn.Module, dict[str, Tensor], Any, ProbeConfig], dict[str, float]]
PROBES = Registry("probe")
register = PROBES.register
