"""JSON histories: a dict of lists per metric, and JSON Lines of dicts.

The dict of lists is the `training_history.json` layout (`{"epoch": [...], "train_loss": [...], "test_acc":
[...]}`) and Keras's `History.history`; nested dicts are flattened (`{"train": {"loss": [...]}}` -> `train.loss`)
and scalar entries are taken as the run's settings. JSON Lines hold one dict per logged row (nested dicts
flattened the same way); a last line cut short by a kill is left out (noted).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from groklab.config import flatten
from groklab.errors import GroklabError
from groklab.importers import keys
from groklab.importers.files import number, read_json, read_text
from groklab.importers.record import Table


def read_lists(path: Path) -> Table:
    data = read_json(path)
    if not isinstance(data, dict):
        raise GroklabError(f"{path}: expected a JSON object of lists per metric")
    _refuse_several_runs(data, path)
    flat = flatten(data)
    columns = {k: v for k, v in flat.items() if isinstance(v, list)}
    if not columns:
        raise GroklabError(f"{path}: no lists of values (expected {{\"epoch\": [...], \"train_loss\": [...]}})")
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in list(columns.items())[:6])
        raise GroklabError(f"{path}: the lists differ in length ({sizes}); each list needs one value per row")
    rows = [{k: number(v[i]) for k, v in columns.items()} for i in range(lengths.pop())]
    hparams = {k: v for k, v in flat.items() if k not in columns}
    return Table(rows=rows, hparams=hparams)


def _refuse_several_runs(data: dict[str, Any], path: Path) -> None:
    """{"run_a": {"epoch": [...], ...}, "run_b": {...}}: a history per run, not one run's history."""
    runs = [k for k, v in data.items()
            if isinstance(v, dict) and any(keys.x_kind(n) and isinstance(c, list) for n, c in v.items())]
    if len(runs) > 1:
        raise GroklabError(f"{path}: histories of {len(runs)} runs ({', '.join(runs[:4])}); write one file per "
                           "run")


def read_lines(path: Path) -> Table:
    text = read_text(path)
    rows, notes = [], []
    lines = text.splitlines()
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            if i == len(lines) and not text.endswith("\n"):
                notes.append(f"the last line (cut short: {line[:40]!r}) left out")
                break
            raise GroklabError(f"{path}: line {i} is not valid JSON ({e})") from None
        if not isinstance(row, dict):
            raise GroklabError(f"{path}: line {i} is not a JSON object")
        rows.append({k: number(v) for k, v in flatten(row).items()})
    return Table(rows=rows, notes=notes)
