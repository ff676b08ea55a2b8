"""Slingshot cycles and what validation accuracy does after them (Thilak et al. 2022, papers.md §07).

Thilak et al. describe cycles late in training with adaptive optimizers and no explicit regularization: the
last layer's weight norm grows fast, the training loss spikes up from ~1e-7, then the norm plateaus (Fig. 1);
"grokking happens almost exclusively at the onset of Slingshots, and is absent without it" (abstract).

Here a cycle is a loss spike (`groklab.analysis.spikes.find_loss_spikes`) that leaves a baseline <= `floor` and
peaks >= `rise` x above it; spikes that start within `merge` evaluations of the previous one are its
aftershocks (their running-minimum baseline still holds the pre-cycle loss), so they join its cycle. The window
after an onset is derived from the run's own cycles, never a constant: it ends halfway to the next onset (the
last cycle's window is as long as the longest other one, or reaches halfway to the end of the run when there is
only one). `gains` then splits the rise of validation accuracy over the run into the part inside those windows
and the part outside, so a check can ask whether the run generalised at its Slingshots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from groklab.analysis.spikes import find_loss_spikes
from groklab.io import finite
from groklab.runs import History


@dataclass(frozen=True)
class Cycle:
    """One Slingshot: the onset step (the loss leaves its baseline), the baseline and peak loss, the spikes it
    merges, and the window [onset, end) in which its effect on validation accuracy is read."""

    onset: int
    baseline: float
    peak: float
    spikes: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"onset": self.onset, "baseline": self.baseline, "peak": self.peak, "spikes": self.spikes,
                "end": self.end}


def cycles(history: History, floor: float = 1e-6, rise: float = 1e3, merge: int = 20) -> list[Cycle]:
    """The run's Slingshot cycles (module docstring), with their windows."""
    spikes = [s for s in find_loss_spikes(history, factor=10.0, window=merge, floor=floor)
              if s["baseline"] <= floor and s["peak_loss"] >= rise * max(s["baseline"], 1e-30)]
    steps = [int(s) for s in history.get("step") or []]
    if not spikes or not steps:
        return []
    position = {s: i for i, s in enumerate(steps)}
    groups: list[list[dict[str, Any]]] = []
    for spike in spikes:
        if groups and position[spike["step"]] - position[groups[-1][-1]["step"]] <= merge:
            groups[-1].append(spike)
        else:
            groups.append([spike])
    onsets = [g[0]["step"] for g in groups]
    last = steps[-1]
    spans = [(b - a) // 2 for a, b in pairwise(onsets)]
    spans.append(max(spans) if spans else (last - onsets[-1]) // 2)
    return [Cycle(g[0]["step"], g[0]["baseline"], max(s["peak_loss"] for s in g), len(g), min(o + span, last))
            for g, o, span in zip(groups, onsets, spans, strict=True)]


@dataclass(frozen=True)
class Gains:
    """Validation accuracy split by the Slingshot windows: its rise inside them and outside (after `start`), the
    largest single rise between evaluations and whether it fell inside a window."""

    inside: float
    outside: float
    largest: float
    largest_step: int | None
    largest_inside: bool

    @property
    def share(self) -> float | None:
        """The share of the total positive rise that came inside the windows (None: no rise at all)."""
        total = self.inside + self.outside
        return self.inside / total if total > 0 else None


def gains(steps: Sequence[Any], val: Sequence[Any], windows: Sequence[tuple[int, int]], start: int = 0) -> Gains:
    """Sum the increases of validation accuracy between consecutive evaluations after `start`, inside the
    windows [a, b) (an increase is counted where it is measured, at its later evaluation) and outside them."""
    points = [(int(s), v) for s, raw in zip(steps, val, strict=False) if (v := finite(raw)) is not None]
    inside = outside = largest = 0.0
    largest_step: int | None = None
    largest_inside = False
    for (_, before), (step, after) in pairwise(points):
        delta = after - before
        if step <= start or delta <= 0:
            continue
        within = any(a <= step < b for a, b in windows)
        inside, outside = (inside + delta, outside) if within else (inside, outside + delta)
        if delta > largest:
            largest, largest_step, largest_inside = delta, step, within
    return Gains(inside, outside, largest, largest_step, largest_inside)
