"""What the claim checks read from a run: finite columns, first crossings, final values, the detector's verdict.

Pure functions of a loaded `Run` (config, summary, history as columns), so a check is the same whether the run
was read from its folder or built in memory.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from groklab.analysis.delay import DelayRule
from groklab.analysis.detect import DetectConfig, detect_loaded, sustained_crossing
from groklab.errors import GroklabError
from groklab.io import finite, last_finite
from groklab.runs import Run


def points(run: Run, key: str) -> list[tuple[int, float]]:
    """(step, value) wherever `key` holds a finite number."""
    steps = run.history.get("step") or []
    column = run.history.get(key) or []
    return [(int(s), v) for s, raw in zip(steps, column, strict=False) if (v := finite(raw)) is not None]


def values(run: Run, key: str) -> list[float]:
    return [v for _, v in points(run, key)]


def first_at(run: Run, key: str, level: float) -> int | None:
    """First evaluated step with `key` >= `level` (summary.json's `thresholds` rule), or None."""
    return next((s for s, v in points(run, key) if v >= level), None)


def held_from(run: Run, key: str, level: float, patience: int = 3) -> int | None:
    """First step of `key` >= `level` held for `patience` evaluations (the detector's rule), or None."""
    return sustained_crossing(run.history.get("step") or [], run.history.get(key) or [], level, patience)


def last(run: Run, key: str) -> float | None:
    return last_finite(run.history.get(key))


def last_step(run: Run) -> int:
    steps = run.history.get("step") or []
    return int(steps[-1]) if steps else 0


def detection(run: Run, config: DetectConfig | None = None) -> dict[str, Any]:
    """The detector on the run's history with the preset's settings and what its summary knows (the kind, a
    regression run's trivial baseline): computed, never read from summary.json, so a verdict stored under other
    settings cannot leak in."""
    return detect_loaded(run, config)


def need(runs: Any, *names: str) -> None:
    """Every arm the check reads must be present: a missing arm is a wiring error, said in one line."""
    missing = [n for n in names if n not in runs]
    if missing:
        raise GroklabError(f"the claim check needs the arm(s) {', '.join(missing)} (got {', '.join(runs) or 'none'})")


def chance_rule(run: Run, rule: DelayRule) -> DelayRule:
    """`rule` with the run's chance level: 1/p for the modular tasks (one answer among p residues), else the rule's
    own."""
    p = (run.config.get("task") or {}).get("p")
    return dataclasses.replace(rule, chance=1 / p) if isinstance(p, int) and p > 1 else rule


def status_ok(run: Run, name: str) -> tuple[bool, str]:
    status = run.summary.get("status")
    return status == "completed", f"{name} {status}"


def fmt(value: Any) -> str:
    """A measured figure in a detail line: steps with thousands separators, other numbers to 3 digits."""
    if value is None:
        return "never"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.3g}" if isinstance(value, float) else str(value)
