"""Loss spikes and their weight-norm signature (Slingshot, papers.md §07).

Thilak et al. 2022 describe cycles late in training with adaptive optimizers: the last layer's weight norm
grows fast, the training loss spikes, then the norm plateaus; without explicit regularization grokking happens
almost only at the onset of such spikes. So a spike is reported together with whether the weight norm moved
around it. `params/last_layer_norm` is preferred when a probe logged it (the paper's quantity); otherwise the
total norm `params/norm` is used, which is a weaker signal.
"""

from __future__ import annotations

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


def norm_change_around(history: History, key: str, row: int, window: int) -> float | None:
    """Relative range of the norm over evaluations within `window` rows of `row`. Symmetric on purpose: the
    Slingshot cycle is norm growth *before* the spike and a plateau after (§07)."""
    return relative_range(history, key, row, window)


def relative_range(history: History, key: str, row: int, window: int) -> float | None:
    """(max - min) / min of a positive column over the evaluations within `window` rows of `row`."""
    values = [v for r, _, v in _points(history, key) if abs(r - row) <= window]
    if len(values) < 2 or min(values) <= 0:
        return None
    return (max(values) - min(values)) / min(values)


def what_moved(history: History, row: int, window: int, change: float, top: int = 5) -> dict[str, Any]:
    """What changed around a spike (issue 17, the m-height study's question): every parameter's norm
    (`params/norm/<name>`, the layer_norms probe) and every per-group loss (keys holding `/mse/`, the
    mheight_groups probe) whose relative range within `window` evaluations is at least `change` (the `top`
    largest), and the learning rate if it changed there (warm-up)."""
    moved: dict[str, Any] = {"norms": {}, "groups": {}, "lr": None}
    for key in history:
        kind = "norms" if key.startswith("params/norm/") else "groups" if "/mse/" in key else None
        if kind is not None and (rel := relative_range(history, key, row, window)) is not None and rel >= change:
            moved[kind][key.split("/", 2)[-1]] = round(rel, 4)
    for kind in ("norms", "groups"):
        moved[kind] = dict(sorted(moved[kind].items(), key=lambda kv: -kv[1])[:top])
    lrs = [v for r, _, v in _points(history, "lr") if abs(r - row) <= window]
    if lrs and max(lrs) != min(lrs):
        moved["lr"] = {"min": min(lrs), "max": max(lrs)}
    return moved


def describe_moved(moved: dict[str, Any]) -> str:
    """'norms: blocks.0.W_in +31%; groups: 9,4,5 +120%; lr 1e-4 -> 1e-3' (or 'nothing logged moved')."""
    parts = [f"{kind}: " + ", ".join(f"{k} +{100 * v:.0f}%" for k, v in moved[kind].items())
             for kind in ("norms", "groups") if moved.get(kind)]
    if moved.get("lr"):
        parts.append(f"lr {moved['lr']['min']:.3g}..{moved['lr']['max']:.3g}")
    return "; ".join(parts) or "nothing logged moved"


def spikes_with_norm(
    history: History, factor: float = 10.0, window: int = 20, floor: float = 1e-6,
    norm_window: int = 5, norm_change: float = 0.05,
) -> list[dict[str, Any]]:
    """Loss spikes annotated with the weight-norm column used, its relative change, and whether it moved."""
    key = norm_key(history)
    out = []
    for spike in find_loss_spikes(history, factor=factor, window=window, floor=floor):
        row = spike.pop("row")
        change = norm_change_around(history, key, row, norm_window) if key else None
        spike.update(
            norm_key=key,
            norm_change=None if change is None else round(change, 6),
            norm_coincides=change is not None and change >= norm_change,
            moved=what_moved(history, row, norm_window, norm_change),
        )
        out.append(spike)
    return out
