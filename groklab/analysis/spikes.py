"""Loss spikes and their weight-norm signature (Slingshot, papers.md §07).

Thilak et al. 2022 describe cycles late in training with adaptive optimizers: the last layer's weight norm
grows fast, the training loss spikes, then the norm plateaus; without explicit regularization grokking happens
almost only at the onset of such spikes. So a spike is reported together with what moved with it: which logged
norms and per-group losses left their course there, and whether the learning rate changed (`what_moved`, the one
decision that `groklab detect`, the report, the write-up and the figures print). For the weight-norm question of
§07, `params/last_layer_norm` is preferred when a probe logged it (the paper's quantity); otherwise the total
norm `params/norm` is used, which is a weaker signal.
"""

from __future__ import annotations

import math
from typing import Any

from groklab.io import finite
from groklab.runs import History

NORM_KEYS = ("params/last_layer_norm", "params/norm")


def norm_key(history: History) -> str | None:
    """The weight-norm column to correlate spikes with: last-layer norm when measured, else total norm."""
    for key in NORM_KEYS:
        if any(finite(v) is not None for v in history.get(key) or []):
            return key
    return None


def _points(history: History, key: str) -> list[tuple[int, int, float]]:
    """(row, step, value) for every row where `key` holds a finite value."""
    steps = history.get("step") or []
    column = history.get(key) or [None] * len(steps)
    return [(row, int(step), v) for row, (step, raw) in enumerate(zip(steps, column, strict=False))
            if (v := finite(raw)) is not None]


def find_loss_spikes(
    history: History, factor: float = 10.0, window: int = 20, floor: float = 1e-6,
) -> list[dict[str, Any]]:
    """Episodes where train/loss jumps to >= `factor` x its minimum over the previous `window` evaluations.

    Why a running minimum: the Slingshot spike starts from a loss that has been driven very low (papers.md
    §07: spikes appear once train loss reaches ~1e-7), so "jump over the recent minimum" is scale-free and
    ignores the slow drift of the loss. `floor` ignores float32 round-off wiggles at tiny losses (1e-9 -> 1e-8
    is not a spike). An episode ends at the first evaluation back within `factor` of the baseline, or down by
    `factor` from its peak (the loss often settles higher than before the spike); the next one may then start.
    """
    points = _points(history, "train/loss")
    spikes: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for k, (row, step, value) in enumerate(points):
        if current is not None:
            if value <= factor * current["baseline"] or value <= current["peak_loss"] / factor:
                current["end_step"] = step
                spikes.append(current)
                current = None
            elif value > current["peak_loss"]:
                current.update(peak_step=step, peak_loss=value)
            continue
        recent = [v for _, _, v in points[max(0, k - window):k]]
        if not recent:
            continue
        baseline = min(recent)
        if value >= floor and value >= factor * baseline and value > baseline:
            current = {
                "step": step, "row": row, "loss": value, "baseline": baseline,
                "ratio": value / baseline if baseline > 0 else None,
                "peak_step": step, "peak_loss": value, "end_step": None,
            }
    if current is not None:
        spikes.append(current)
    return spikes


def off_course(history: History, key: str, row: int, window: int) -> float | None:
    """How far a positive column left its own course at a spike starting at `row`: the course is the exponential
    trend (a straight line in log) through the first and last of the `window` evaluations before the spike (flat
    when only one precedes it); the answer is value / course - 1, largest in size, over the evaluations from the
    spike to `window` after it. Weight decay shrinks weights by a constant factor per step, so its steady
    shrinkage stays on course and scores about 0; a jump at the spike, or growth that stops there (the Slingshot:
    norm growth, then a plateau, papers.md §07), does not. None without a positive value before and after."""
    points = [(r, s, math.log(v)) for r, s, v in _points(history, key) if abs(r - row) <= window and v > 0]
    before = [(s, v) for r, s, v in points if r < row]
    after = [(s, v) for r, s, v in points if r >= row]
    if not before or not after:
        return None
    (s0, v0), (s1, v1) = before[0], before[-1]
    slope = (v1 - v0) / (s1 - s0) if s1 > s0 else 0.0
    return max((math.exp(v - v1 - slope * (s - s1)) - 1 for s, v in after), key=abs)


def what_moved(history: History, row: int, window: int, change: float, top: int = 5) -> dict[str, Any]:
    """What moved with a spike: the one decision every output prints (`describe_moved`). Each weight norm (the
    total `params/norm`, `params/last_layer_norm`, and per parameter `params/norm/<name>` from the layer_norms
    probe) and each per-group loss (keys holding `/mse/`, the mheight_groups probe) that left its course by at
    least `change` within `window` evaluations of the spike (`off_course`; the total norms and the `top` largest
    others), and the learning rate if it changed there (warm-up)."""
    moved: dict[str, Any] = {"norms": {}, "groups": {}, "lr": None}
    for key in history:
        norm = key in NORM_KEYS or key.startswith("params/norm/")
        kind = "norms" if norm else "groups" if "/mse/" in key else None
        dev = off_course(history, key, row, window) if kind is not None else None
        if kind is not None and dev is not None and abs(dev) >= change:
            moved[kind][key if key in NORM_KEYS else key.split("/", 2)[-1]] = round(dev, 4)
    for kind in ("norms", "groups"):  # the total norms always, then the `top` largest of each kind
        ranked = sorted(moved[kind].items(), key=lambda kv: (kv[0] not in NORM_KEYS, -abs(kv[1])))
        moved[kind] = dict(ranked[: top + sum(1 for k, _ in ranked if k in NORM_KEYS)])
    lrs = [v for r, _, v in _points(history, "lr") if abs(r - row) <= window]
    if lrs and max(lrs) != min(lrs):
        moved["lr"] = {"min": min(lrs), "max": max(lrs)}
    return moved


def describe_moved(moved: dict[str, Any], percent: bool = True) -> str:
    """What moved with a spike in words, the same in every output: 'norms: params/last_layer_norm -9%; groups:
    9,4,5 +120% off their course; lr 0.0001..0.001', or 'nothing logged moved'. `percent=False` gives the
    departures as the stored fractions (-0.094), for documents that state only values of the run's files."""
    def fmt(v: float) -> str:
        return f"{100 * v:+.0f}%" if percent else f"{v:+.4g}"

    parts = [f"{kind}: " + ", ".join(f"{k} {fmt(v)}" for k, v in moved[kind].items())
             for kind in ("norms", "groups") if moved.get(kind)]
    text = "; ".join(parts) + (" off their course" if parts else "")
    if moved.get("lr"):
        text += ("; " if text else "") + f"lr {moved['lr']['min']:.3g}..{moved['lr']['max']:.3g}"
    return text or "nothing logged moved"


def spikes_with_norm(
    history: History, factor: float = 10.0, window: int = 20, floor: float = 1e-6,
    norm_window: int = 5, norm_change: float = 0.05,
) -> list[dict[str, Any]]:
    """Loss spikes annotated with what moved with them (`what_moved`) and, from that same decision, the weight-norm
    column of §07 (`norm_key`), how far it left its course, and whether it moved with the spike."""
    key = norm_key(history)
    out = []
    for spike in find_loss_spikes(history, factor=factor, window=window, floor=floor):
        row = spike.pop("row")
        moved = what_moved(history, row, norm_window, norm_change)
        change = off_course(history, key, row, norm_window) if key else None
        spike.update(
            norm_key=key,
            norm_change=None if change is None else round(change, 6),
            norm_coincides=key in moved["norms"],
            moved=moved,
        )
        out.append(spike)
    return out
