"""Per-group validation log2-MSE of the m-height task: the course metric (mheight.md §4.5) during training."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from groklab.errors import GroklabError
from groklab.mheight.metric import course_metric, headline
from groklab.probes.registry import register


@register("mheight_groups")
@torch.no_grad()
def mheight_groups(model: nn.Module, data: dict[str, Tensor], task: Any, settings: Any) -> dict[str, float]:
    """`val/mse/n,k,m` for every group, `val/course_mse`, their plain average (the course score, §4.5), and
    `val/course_mse_m<n-k`, the average over the groups with m < n-k (where a model learns; headline()).

    Predictions and labels are log2 heights; the metric is computed on 2^(.) by `course_metric`, so it is the
    same function that scores exported predictions.
    """
    if task.meta.get("task") != "mheight":
        raise GroklabError("the mheight_groups probe needs task.name=mheight")
    x = data["x_val"]
    pred = torch.cat([model(x[i : i + 8192]).reshape(-1) for i in range(0, len(x), 8192)])
    groups = np.asarray(task.meta["groups"], dtype=np.int64)[np.asarray(task.meta["val_group"])]
    true = np.exp2(data["y_val"].double().cpu().numpy())
    guess = np.exp2(pred.double().cpu().numpy())
    result = course_metric(groups[:, 0], groups[:, 1], groups[:, 2], true, guess)
    out = {f"val/mse/{n},{k},{m}": v for (n, k, m), v in result.per_group.items()}
    means = headline(result.per_group)
    return out | {"val/course_mse": result.mean} | ({"val/course_mse_m<n-k": means["m<n-k"]} if "m<n-k" in means
                                                    else {})
