"""What a format reader returns (`Table`: the source's rows under its own names) and what an import is
(`ImportedRun`: rows in groklab's keys on one x axis), with the one function between them, `build`.

`build` applies `--map`, refuses several runs in one source, picks the x axis (the optimizer step when there is
one, else the epoch: keys.STEP_NAMES, keys.EPOCH_NAMES), maps the metric names (keys.assign) and merges the rows
logged at the same x into one (Lightning and wandb log train and validation metrics in separate rows).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from groklab.errors import GroklabError
from groklab.importers import keys


@dataclass(frozen=True)
class Table:
    """A source as read: rows of {its own name: value} in logged order (None or a missing key: not logged)."""

    rows: list[dict[str, Any]]
    hparams: dict[str, Any] = field(default_factory=dict)  # the source's own config, as it records it
    meta: dict[str, Any] = field(default_factory=dict)  # facts about the source run (status, ids, times)
    x: str | None = None  # the x column when the format fixes it (a wandb chart export's first column)
    notes: list[str] = field(default_factory=list)  # what the reader left out or assumed


@dataclass(frozen=True)
class ImportedRun:
    """One imported run: `rows` are metrics.jsonl lines ({"step": x, groklab key: number or None, ...})."""

    source: Path
    format: str
    x_axis: str  # "step" or "epoch": what `step` counts
    x_column: str  # the source's name of that column
    rows: list[dict[str, Any]]
    hparams: dict[str, Any]
    meta: dict[str, Any]
    key_map: dict[str, str]  # source name -> groklab key, for the names that changed
    skipped: list[str]  # source columns that hold text, not numbers
    notes: list[str]


def build(table: Table, fmt: str, source: Path, mapping: Mapping[str, str] | None = None) -> ImportedRun:
    """Turn a reader's Table into an ImportedRun; every problem is a one-line GroklabError naming `source`."""
    if not table.rows:
        raise GroklabError(f"{source}: no logged values in it")
    present = {k for row in table.rows for k in row}
    mapping = {old: new for old, new in (mapping or {}).items() if old in present}
    rows = _renamed(table.rows, mapping, source)
    names = list(dict.fromkeys(k for row in rows for k in row))
    _one_run(rows, source)
    x, x_axis = _x_column(names, rows, source, mapping.get(table.x or "", table.x))
    notes = list(table.notes)
    kept = [row for row in rows if row.get(x) is not None]
    if len(kept) < len(rows):
        notes.append(f"{len(rows) - len(kept)} rows without a value of {x!r} left out")
    _check_x(kept, x, source)
    text = [n for n in names if n != x and any(isinstance(r.get(n), str) for r in kept)]
    numeric = [n for n in names if n != x and n not in text]
    user = set(mapping.values())
    auto = keys.assign([n for n in numeric if n not in user], taken=user & set(keys.TARGETS))
    rename = {n: auto.get(n, n) for n in numeric}
    if not set(rename.values()) & set(keys.TARGETS):
        raise GroklabError(f"{source}: no metric maps onto {', '.join(keys.TARGETS)} (columns: "
                           f"{_listing(numeric)}); name one with --map NAME=val/acc")
    taken = {*auto.values(), "step"}
    for n in numeric:  # an unmapped name equal to a key another name took ("loss/train" beside "train/loss")
        if n not in auto and n not in user and rename[n] in taken:
            rename[n] = f"source/{n}"
    merged, overwritten = _merge(kept, x, rename)
    if overwritten:
        notes.append("several values at one x, the last kept: " +
                     ", ".join(f"{k} ({n}x)" for k, n in sorted(overwritten.items())))
    tests = sorted(n for n, target in auto.items() if keys.is_test(n))
    if tests:
        notes.append(f"val/* comes from the source's test metrics ({', '.join(tests)})")
    return ImportedRun(source=source, format=fmt, x_axis=x_axis, x_column=_original(x, mapping), rows=merged,
                       hparams=table.hparams, meta=table.meta,
                       key_map={n: t for n, t in rename.items() if n != t} | _user_map(mapping, x),
                       skipped=text, notes=notes)


def _listing(names: list[str], limit: int = 12) -> str:
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "") or "none"


def _renamed(rows: list[dict[str, Any]], mapping: Mapping[str, str], source: Path) -> list[dict[str, Any]]:
    """Rows with --map applied; a name the source lacks is skipped here (the CLI refuses a name no source has)."""
    present = {k for row in rows for k in row}
    for old, new in mapping.items():
        if old in present and new in present and new not in mapping:
            raise GroklabError(f"--map {old}={new}: {source} already has a column {new!r}")
    if not mapping:
        return rows
    return [{mapping.get(k, k): v for k, v in row.items()} for row in rows]


def _original(name: str, mapping: Mapping[str, str]) -> str:
    return next((old for old, new in mapping.items() if new == name), name)


def _user_map(mapping: Mapping[str, str], x: str) -> dict[str, str]:
    return {old: new for old, new in mapping.items() if new != x}


def _one_run(rows: list[dict[str, Any]], source: Path) -> None:
    for name in {k for row in rows for k in row}:
        if name.lower() in keys.RUN_ID_NAMES:
            values = list(dict.fromkeys(str(row[name]) for row in rows if row.get(name) is not None))
            if len(values) > 1:
                raise GroklabError(f"{source}: rows of {len(values)} runs ({name} = {_listing(values, 4)}); split "
                                   "them into one file per run")


def _x_column(names: list[str], rows: list[dict[str, Any]], source: Path, fixed: str | None) -> tuple[str, str]:
    """(the x column, "step" or "epoch")."""
    if fixed is not None:
        kind = keys.x_kind(fixed)
        if kind is None:
            raise GroklabError(f"{source}: its x axis {fixed!r} is neither a step nor an epoch column; export it "
                               "with Step (or epoch) as the x axis, or --map it to step")
        return fixed, kind
    by_low = {}
    for n in names:
        if any(isinstance(r.get(n), int | float) for r in rows):
            by_low.setdefault(n.lower(), n)
    for low in (*keys.STEP_NAMES, *keys.EPOCH_NAMES):
        if low in by_low:
            return by_low[low], str(keys.x_kind(low))
    raise GroklabError(f"{source}: no step or epoch column (columns: {_listing(names)}); "
                       "name it with --map NAME=step or --map NAME=epoch")


def _check_x(rows: list[dict[str, Any]], x: str, source: Path) -> None:
    """x must be a whole number that never goes back: a drop means a second run appended to the file."""
    last = None
    for i, row in enumerate(rows):
        value = row[x]
        if isinstance(value, str) or not math.isfinite(value) or value != int(value):
            raise GroklabError(f"{source}: {x} = {value!r} (row {i + 1}) is not a whole number")
        if last is not None and value < last:
            raise GroklabError(f"{source}: {x} goes back from {last:g} to {value:g} at row {i + 1}: rows of "
                               "several runs in one file? split them into one file per run")
        last = value


def _merge(rows: list[dict[str, Any]], x: str, rename: dict[str, str]) -> tuple[list[dict[str, Any]],
                                                                                   dict[str, int]]:
    """One line per x value, keys renamed; a key logged twice at one x keeps the later value (counted)."""
    merged: dict[int, dict[str, Any]] = {}
    overwritten: dict[str, int] = {}
    for row in rows:
        line = merged.setdefault(int(row[x]), {"step": int(row[x])})
        for name, value in row.items():
            if name not in rename or value is None:
                continue
            key = rename[name]
            value = value if math.isfinite(value) else None
            if key in line and line[key] != value:
                overwritten[key] = overwritten.get(key, 0) + 1
            line[key] = value
    return [merged[s] for s in sorted(merged)], overwritten


def series_rows(series: Mapping[str, list[tuple[int | float, Any]]], source: Path) -> list[dict[str, Any]]:
    """Rows {"step": s, name: v} from per-metric series (TensorBoard tags, Sacred metrics), ordered by step, the
    series' own order kept within a step. A series whose steps go back holds several runs."""
    cells = []
    for order, (name, points) in enumerate(series.items()):
        for (a, _), (b, _) in itertools.pairwise(points):
            if b < a:
                raise GroklabError(f"{source}: the steps of {name} go back from {a:g} to {b:g}: several runs in "
                                   "one source? import each run on its own")
        cells += [(step, order, {"step": step, name: value}) for step, value in points]
    return [row for _, _, row in sorted(cells, key=lambda c: (c[0], c[1]))]
