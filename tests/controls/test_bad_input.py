"""Bad input to every claim check: a damaged or partial run (a column missing, every value NaN, fewer evaluations
than a window) gives `not reproduced` or `failed to run` with a one-line reason, never a traceback and never a
pass. Each preset's first positive control is damaged in its run folders (metrics.jsonl and summary.json's
`final`), then read back as a run folder made elsewhere would be."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controls.build import Writer
from controls.test_controls import CHECKED, all_controls, scale_of
from groklab.presets import registry
from groklab.presets.base import Outcome, judge
from groklab.runs import load_run

NOT_A_PASS = ("not reproduced", "failed to run")


def damage(runs: dict, how) -> dict:
    """Rewrite each run folder's rows with `how(rows) -> rows` (NaN written as the JSON token), drop the summary's
    `final` values of the columns that went, and read the folders back."""
    out = {}
    for arm, run in runs.items():
        path = Path(run.path)
        rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
        kept = how(rows)
        (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
        summary = json.loads((path / "summary.json").read_text())
        keys = {k for r in kept for k, v in r.items() if isinstance(v, int | float) and v == v}
        summary["final"] = {k: v for k, v in (summary.get("final") or {}).items() if k in keys}
        (path / "summary.json").write_text(json.dumps(summary))
        out[arm] = load_run(path)
    return out


def no_metrics(rows):
    return [{"step": r["step"]} for r in rows]


def all_nan(rows):
    return [{k: (v if k == "step" else float("nan")) for k, v in r.items()} for r in rows]


def two_evaluations(rows):
    return rows[:2]


def positive(name: str, root: Path) -> tuple[dict, dict | None]:
    case = next(c for c in all_controls()[name] if not c.negative)
    return case.build(Writer(root, name, scale_of(name)))


def one_line(outcome: Outcome) -> bool:
    return "\n" not in outcome.reason and "Traceback" not in outcome.reason and len(outcome.reason) <= 2000


@pytest.mark.parametrize("how", [no_metrics, all_nan, two_evaluations])
@pytest.mark.parametrize("name", CHECKED)
def test_a_damaged_run_is_never_a_pass(name, how, tmp_path):
    runs, study = positive(name, tmp_path)
    outcome = judge(registry()[name].check, damage(runs, how), study)
    assert outcome.status in NOT_A_PASS, (outcome.status, outcome.reason)
    assert one_line(outcome), outcome.reason


@pytest.mark.parametrize("name", CHECKED)
def test_each_missing_column_fails_or_is_not_read(name, tmp_path):
    """Dropping any one column gives the undamaged status (the check does not read it) or not a pass."""
    runs, study = positive(name, tmp_path / "ok")
    expected = judge(registry()[name].check, runs, study).status
    columns = sorted({k for run in runs.values() for k in run.history if k not in ("step", "time")})
    for i, column in enumerate(columns):
        fresh, _ = positive(name, tmp_path / f"c{i}")
        outcome = judge(registry()[name].check, damage(fresh, lambda rows, c=column: [
            {k: v for k, v in r.items() if k != c} for r in rows]), study)
        assert outcome.status in (expected, *NOT_A_PASS), (column, outcome.status, outcome.reason)
        assert one_line(outcome), outcome.reason
