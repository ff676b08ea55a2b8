"""JSON histories: a dict of lists per metric, a list of dicts per row, and JSON Lines of dicts.

The dict of lists is the `training_history.json` layout (`{"epoch": [...], "train_loss": [...], "test_acc":
[...]}`) and Keras's `History.history`; nested dicts are flattened (`{"train": {"loss": [...]}}` -> `train.loss`)
and scalar entries are taken as the run's settings. A list of dicts (`[{"epoch": 0, "train_loss": ...}, ...]`,
what `json.dump(history)` of a list of per-epoch dicts writes) holds one row per entry, as JSON Lines hold one per
line (nested dicts flattened the same way). A damaged line of JSON Lines is left out with a warning naming it;
a last line cut short by a kill is left out with a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from groklab.config import flatten
from groklab.errors import GroklabError
from groklab.importers import keys
from groklab.importers.files import number, read_json, read_text
from groklab.importers.record import Table
from groklab.io import loads

SHAPES = '{"epoch": [...], "train_loss": [...]} (lists per metric) or [{"epoch": 0, "train_loss": ...}, ...]'


def read_lists(path: Path) -> Table:
    data = read_json(path)
    if isinstance(data, list):
        return _read_records(data, path)
    if not isinstance(data, dict):
        raise GroklabError(f"{path}: expected {SHAPES}, found {type(data).__name__}")
    _refuse_several_runs(data, path)
    flat = flatten(data)
    columns = {k: v for k, v in flat.items() if isinstance(v, list)}
    if not columns:
        raise GroklabError(f"{path}: no lists of values (expected {SHAPES})")
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in list(columns.items())[:6])
        raise GroklabError(f"{path}: the lists differ in length ({sizes}); each list needs one value per row")
    n = lengths.pop()
    rows = [{k: number(v[i]) for k, v in columns.items()} for i in range(n)]
    hparams = {k: v for k, v in flat.items() if k not in columns}
    return Table(rows=rows, hparams=hparams, origins=[f"entry {i}" for i in range(n)])


def _read_records(data: list[Any], path: Path) -> Table:
    """A list of per-row dicts; an entry that is not a dict cannot be placed and is refused."""
    rows = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise GroklabError(f"{path}: entry {i} is {type(entry).__name__}, not an object of values; expected "
                               f"{SHAPES}")
        rows.append({k: number(v) for k, v in flatten(entry).items()})
    return Table(rows=rows, origins=[f"entry {i}" for i in range(len(rows))])


def _refuse_several_runs(data: dict[str, Any], path: Path) -> None:
    """{"run_a": {"epoch": [...], ...}, "run_b": {...}}: a history per run, not one run's history."""
    runs = [k for k, v in data.items()
            if isinstance(v, dict) and any(keys.x_kind(n) and isinstance(c, list) for n, c in v.items())]
    if len(runs) > 1:
        raise GroklabError(f"{path}: histories of {len(runs)} runs ({', '.join(runs[:4])}); write one file per "
                           "run")


def read_lines(path: Path) -> Table:
    text = read_text(path)
    rows, origins, notes, damaged = [], [], [], []
    lines = text.splitlines()
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = loads(line)
        except ValueError as e:
            if i == len(lines) and not text.endswith("\n"):
                notes.append(f"the last line (cut short: {line[:40]!r}) left out")
                break
            damaged.append(f"line {i} ({str(e)[:60]})")
            continue
        if not isinstance(row, dict):
            damaged.append(f"line {i} (a JSON {type(row).__name__}, not an object)")
            continue
        rows.append({k: number(v) for k, v in flatten(row).items()})
        origins.append(f"line {i}")
    warnings = []
    if damaged:
        shown = ", ".join(damaged[:3]) + (f", ... ({len(damaged)} in all)" if len(damaged) > 3 else "")
        warnings.append(f"{path}: {len(damaged)} lines are not JSON objects, left out: {shown}")
    return Table(rows=rows, notes=notes, origins=origins, warnings=warnings)
