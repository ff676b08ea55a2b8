"""The exact generalization loss of a linear student (Levi et al. 2023, Eq. 2; papers.md §09)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from groklab.errors import GroklabError


@torch.no_grad()
def generalization_loss(model: nn.Module, data: dict[str, Tensor], task: Any, settings: Any) -> dict[str, float]:
    """(1/d_out) ||S - T||_F^2: the expectation over x ~ N(0, I) of the MSE, which the validation loss estimates
    from finite samples (Levi Eq. 2). S is the student's end-to-end matrix, T the task's teacher."""
    if "teacher" not in task.meta or not hasattr(model, "linear_map"):
        raise GroklabError("the levi_gen_loss probe needs task.name=linear_teacher and model.name=linear")
    student = model.linear_map().double()
    teacher = torch.tensor(task.meta["teacher"], dtype=torch.float64, device=student.device)
    return {"val/gen_loss": ((student - teacher).square().sum() / teacher.shape[1]).item()}
