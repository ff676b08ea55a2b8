"""The course metric (mheight.md §4.5): per group, the mean of (log2 h - log2 h_hat)^2; then the plain
average over groups. Infinite true labels have no log, so they are excluded and counted, never clipped."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groklab.errors import GroklabError

Group = tuple[int, int, int]

# The best published model (eothL/m-height-problem-DNN-project: a sparse MoE of six pre-trained ResNet experts),
# mheight.md §4.6: validation log2-MSE 0.88, the plain mean over all 21 course groups, and the nine per-group
# figures it publishes (three easy groups and the six m = n-k groups). Its mean over the 15 groups with m < n-k is
# not published; (21 x 0.88 - the six m = n-k figures) / 15 = 0.318 derives it, if 0.88 is the plain mean of the
# same per-group figures.
PUBLISHED_MEAN = 0.88
PUBLISHED_GROUPS: dict[Group, float] = {(10, 4, 3): 0.083, (10, 5, 2): 0.086, (9, 5, 2): 0.118, (9, 4, 5): 2.03,
                                        (9, 6, 3): 2.16, (9, 5, 4): 2.16, (10, 4, 6): 2.18, (10, 5, 5): 2.51,
                                        (10, 6, 4): 2.67}
PUBLISHED_BELOW_MDS_MEAN = (21 * PUBLISHED_MEAN - sum(v for (n, k, m), v in PUBLISHED_GROUPS.items() if m == n - k)
                            ) / 15


@dataclass(frozen=True)
class MetricResult:
    """per_group: mean squared log2 error per (n, k, m) with at least one finite label; mean: their
    average; counts: finite labels used per group; n_infinite: labels excluded because h = inf."""

    per_group: dict[Group, float]
    counts: dict[Group, int]
    mean: float
    n_infinite: int


def headline(per_group: dict[Group, float]) -> dict[str, float]:
    """The plain mean over groups (`all`, the course score §4.5) and over the groups with m < n-k (`m<n-k`,
    groklab.mheight.groups.below_mds: where a model learns; the m = n-k groups' height is an input of the
    `mheight` recipe), each where such groups are present."""
    from groklab.mheight.groups import below_mds

    out = {}
    for name, values in (("all", list(per_group.values())),
                         ("m<n-k", [v for g, v in per_group.items() if below_mds(g)])):
        if values:
            out[name] = float(np.mean(values))
    return out


def course_metric(n: object, k: object, m: object, h_true: object, h_pred: object) -> MetricResult:
    """Score predictions h_pred against exact labels h_true, row-aligned with the n, k, m columns."""
    cols = [np.asarray(x) for x in (n, k, m)]
    true = np.asarray(h_true, dtype=np.float64)
    pred = np.asarray(h_pred, dtype=np.float64)
    if len({len(c) for c in cols} | {len(true), len(pred)}) != 1 or true.ndim != 1 or pred.ndim != 1:
        raise GroklabError("n, k, m, h_true and h_pred must be 1-D and of the same length")
    if np.any(np.isnan(true) | (true <= 0)):
        raise GroklabError("true heights must be positive (inf allowed); found NaN or <= 0")
    if np.any(np.isnan(pred) | (pred <= 0)):
        raise GroklabError("predicted heights must be positive; found NaN or <= 0")
    finite = np.isfinite(true)
    with np.errstate(over="ignore", invalid="ignore"):
        sq = (np.log2(np.where(finite, true, 1.0)) - np.log2(pred)) ** 2
    per_group: dict[Group, float] = {}
    counts: dict[Group, int] = {}
    keys = np.stack(cols, axis=1).astype(np.int64) if len(true) else np.zeros((0, 3), np.int64)
    for key in sorted({tuple(int(v) for v in row) for row in keys}):
        sel = np.all(keys == key, axis=1) & finite
        if sel.any():
            per_group[key] = float(sq[sel].mean())
            counts[key] = int(sel.sum())
    mean = float(np.mean(list(per_group.values()))) if per_group else float("nan")
    return MetricResult(per_group, counts, mean, int((~finite).sum()))
