"""Run histories for the negative controls, written through `runs.write_folder` (the writer `groklab import` uses)
and read back with `load_run`, so a check sees exactly what it would see on a run folder made elsewhere.

A preset's cases live in `tests/controls/<preset module>.py` as `CONTROLS = {preset name: [Control, ...]}`;
`test_controls.py` finds every such module and runs each case through `judge` (the suite's own path)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from groklab.config import apply_overrides
from groklab.presets import get
from groklab.runs import Run, load_run, write_folder

Curve = Callable[[int], float | None]


@dataclass(frozen=True)
class Control:
    """One case: a name that says what the history shows, the status `judge` must give (`reproduced`, `partial`
    or `not reproduced`), and a builder of the runs (and the study's result) from a `Writer`."""

    name: str
    expect: str
    build: Callable[[Writer], tuple[dict[str, Run], dict[str, Any] | None]]

    @property
    def negative(self) -> bool:
        return self.expect == "not reproduced"


@dataclass
class Writer:
    """Writes run folders for one case of one preset under `root`."""

    root: Path
    preset: str
    scale: str = "ci"
    count: itertools.count = field(default_factory=itertools.count)

    def run(self, arm: str, rows: list[dict[str, Any]], status: str = "completed", summary: dict | None = None,
            base: str | None = None, overrides: dict[str, Any] | None = None) -> Run:
        """The arm's config (or `base` arm's, with `overrides`), these rows, a summary with `status`."""
        configs = get(self.preset).configs(self.scale)
        cfg = apply_overrides(configs[base or arm], overrides or {})
        last = rows[-1]["step"] if rows else 0
        meta = {"status": status, "steps": last, "total_steps": cfg.train.steps, "kind": "classification",
                "final": rows[-1] if rows else None} | (summary or {})
        path = write_folder(self.root / f"{arm}-{next(self.count)}", cfg.to_dict(), rows, meta)
        return load_run(path)


def steps(total: int, every: int) -> list[int]:
    """The trainer's schedule: a dense log-spaced start, then every `every` steps."""
    early = {0, 1, 2, 3, 5, 8, 13, 20, 30, 50, 80}
    return sorted({s for s in early if s <= total} | set(range(0, total + 1, every)))


def jump(at: int | None, low: float, high: float = 1.0) -> Curve:
    """`low` before step `at`, `high` from it on (None: never rises)."""
    return lambda s: high if at is not None and s >= at else low


def ramp(start: int, end: int, low: float, high: float = 1.0) -> Curve:
    """A straight rise from `low` at `start` to `high` at `end`: a slow, gradual generalisation."""
    return lambda s: low if s <= start else high if s >= end else low + (high - low) * (s - start) / (end - start)


def rows(at: Sequence[int], **columns: Curve | float | None) -> list[dict[str, Any]]:
    """One row per step; a column is a curve of the step or a constant (None: not logged)."""
    def value(c: Any, s: int) -> Any:
        return c(s) if callable(c) else c

    keys = {k.replace("__", "/"): c for k, c in columns.items()}
    return [{"step": s, **{k: value(c, s) for k, c in keys.items()}} for s in at]


def acc_rows(at: Sequence[int], train: Curve, val: Curve, **extra: Curve | float | None) -> list[dict[str, Any]]:
    """Accuracy and matching losses (a loss of -log(acc)) for train and val, plus extra columns."""
    def loss(curve: Curve) -> Curve:
        return lambda s: -math.log(max(curve(s) or 1e-6, 1e-6)) + 1e-4

    return rows(at, train__acc=train, val__acc=val, train__loss=loss(train), val__loss=loss(val), **extra)
