"""Nearest-template accuracy of a regression task with target templates: Liu et al. 2022's addition toy
(papers.md §02) regresses onto random templates, and an output counts as correct when its nearest template is the
target's."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from groklab.config import ProbeConfig
from groklab.errors import GroklabError
from groklab.probes.registry import register


@register("template_acc")
@torch.no_grad()
def template_acc(model: nn.Module, data: dict[str, Tensor], task: Any, settings: ProbeConfig) -> dict[str, float]:
    """Nearest-template accuracy of a regression task with target templates (Liu et al. 2022's toy): the output
    counts as correct when the template nearest to it is the target's."""
    if "templates" not in task.meta:
        raise GroklabError("the template_acc probe needs a task with target templates (task.name=toy_addition)")
    table = torch.tensor(task.meta["templates"], device=data["y_train"].device, dtype=data["y_train"].dtype)
    out = {}
    for split in ("train", "val"):
        pred = torch.cdist(model(data[f"x_{split}"]).to(table.dtype), table).argmin(-1)
        true = torch.cdist(data[f"y_{split}"], table).argmin(-1)
        out[f"{split}/acc"] = (pred == true).double().mean().item()
    return out
