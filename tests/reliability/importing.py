"""Helpers of the import reliability tests: run `groklab import` in-process and check the rule of import ("every
value it can read is in the folder; what it cannot read is named on stderr; or one line and exit 2")."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groklab.cli import main


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str
    folder: Path | None

    def rows(self) -> dict[int, dict[str, Any]]:
        assert self.folder is not None
        return {r["step"]: r for r in map(json.loads, (self.folder / "metrics.jsonl").read_text().splitlines())}

    def summary(self) -> dict[str, Any]:
        assert self.folder is not None
        return json.loads((self.folder / "summary.json").read_text())


def run_import(capsys, src: Path, out: Path, *extra: str) -> Outcome:
    code = main(["import", str(src), "--out", str(out), "--no-detect", *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    folders = [p for p in out.iterdir() if not p.name.startswith(".")] if out.is_dir() else []
    if code == 2:
        lines = captured.err.strip().splitlines()
        errors = [x for x in lines if x.startswith("groklab: error: ")]
        assert len(errors) == 1 and lines[-1] == errors[0], captured.err
        assert not folders, "a refused import wrote a folder"
        return Outcome(code, captured.out, captured.err, None)
    assert code == 0, captured.err
    assert len(folders) == 1
    return Outcome(code, captured.out, captured.err, folders[0])


def is_number(raw: Any) -> bool:
    if isinstance(raw, bool):
        return False
    if isinstance(raw, int | float):
        return True
    try:
        float(str(raw).strip())
    except ValueError:
        return False
    return True


def assert_kept(outcome: Outcome, cells: list[tuple[int, str, Any, str]]) -> None:
    """Every cell (step, column, raw value, where) of the source: a finite number is in the folder at its step,
    under the column's groklab key or its own name; the cells that are not numbers are counted, per column, in a
    warning on stderr that names the column and the first of their places (and in summary.json's `unread`)."""
    rows, summary = outcome.rows(), outcome.summary()
    key_map = summary["key_map"]
    bad: dict[str, list[str]] = {}
    for step, column, raw, where in cells:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue  # not logged
        if not is_number(raw):
            bad.setdefault(column, []).append(where)
            continue
        value = float(str(raw).strip()) if isinstance(raw, str) else float(raw)
        if not math.isfinite(value):
            continue  # stored as null, counted in a note
        row = rows.get(step, {})
        got = row.get(key_map.get(column, column), row.get(f"source/{column}"))
        assert got is not None and math.isclose(got, value, rel_tol=1e-12), (step, column, raw, got)
    warnings = [x for x in outcome.err.splitlines() if x.startswith("groklab: warning: ")]
    for column, places in bad.items():
        named = [x for x in warnings if repr(column) in x]
        counted = [x for x in named if f"{len(places)} of " in x or f"({len(places)} cells" in x]
        assert counted and places[0] in counted[0], (column, places, outcome.err)
        assert any(repr(column) in x for x in summary["unread"])
