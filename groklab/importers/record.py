"""What a format reader returns (`Table`: the source's rows under its own names) and what an import is
(`ImportedRun`: rows in groklab's keys on one x axis), with the one function between them, `build`.

`build` applies `--map`, refuses several runs in one source, picks the x axis (the optimizer step when there is
one, else the epoch: keys.STEP_NAMES, keys.EPOCH_NAMES; or the row's position with `rows_are`), maps the metric
names (keys.assign) and merges the rows logged at the same x into one (Lightning and wandb log train and
validation metrics in separate rows).

Nothing is dropped without a word: a cell that is not a number in a column of numbers becomes null (the column
is kept), a column of text is left out, a row without an x value cannot be placed, a value logged again at the
same x replaces the earlier one; each is a warning naming the file, the column, how many cells and where
(`ImportedRun.warnings`, printed on stderr and kept in summary.json as `unread`).
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

SHOWN = 3  # places named in a warning; the count says how many there are in all


@dataclass(frozen=True)
class Table:
    """A source as read: rows of {its own name: value} in logged order (None or a missing key: not logged)."""

    rows: list[dict[str, Any]]
    hparams: dict[str, Any] = field(default_factory=dict)  # the source's own config, as it records it
    meta: dict[str, Any] = field(default_factory=dict)  # facts about the source run (status, ids, times)
    x: str | None = None  # the x column when the format fixes it (a wandb chart export's first column)
    notes: list[str] = field(default_factory=list)  # what the reader assumed
    origins: list[str] = field(default_factory=list)  # where each row is in the source ("line 7"); default "row i"
    warnings: list[str] = field(default_factory=list)  # what the reader could not read, each naming the file


@dataclass(frozen=True)
class ImportedRun:
    """One imported run: `rows` are metrics.jsonl lines ({"step": x, groklab key: number or None, ...})."""

    source: Path
    format: str
    x_axis: str  # "step" or "epoch": what `step` counts
    x_column: str  # the source's name of that column ("" when the rows' positions are the x axis)
    rows: list[dict[str, Any]]
    hparams: dict[str, Any]
    meta: dict[str, Any]
    key_map: dict[str, str]  # source name -> groklab key, for the names that changed
    skipped: list[str]  # source columns that hold text, not numbers
    notes: list[str]
    warnings: list[str] = field(default_factory=list)  # what could not be read, each naming file, place, column


def build(table: Table, fmt: str, source: Path, mapping: Mapping[str, str] | None = None,
          rows_are: str | None = None) -> ImportedRun:
    """Turn a reader's Table into an ImportedRun; every problem is a one-line GroklabError naming `source`.
    `rows_are` ("step" or "epoch"): the source has no x column and row i is step or epoch i."""
    if not table.rows:
        raise GroklabError(f"{source}: no logged values in it")
    origins = table.origins or [f"row {i}" for i in range(1, len(table.rows) + 1)]
    present = {k for row in table.rows for k in row}
    mapping = {old: new for old, new in (mapping or {}).items() if old in present}
    rows = _renamed(table.rows, mapping, source)
    if rows_are is not None:
        rows = [{**row, INDEX: i} for i, row in enumerate(rows)]
    names = list(dict.fromkeys(k for row in rows for k in row))
    _one_run(rows, source)
    fixed = INDEX if rows_are is not None else mapping.get(table.x or "", table.x)
    x, x_axis = _x_column(names, rows, source, fixed, rows_are)
    notes, warnings = list(table.notes), list(table.warnings)
    placed = [i for i, row in enumerate(rows) if row.get(x) is not None]
    lost = [i for i, row in enumerate(rows) if row.get(x) is None and any(v is not None for v in row.values())]
    if lost:
        warnings.append(f"{source}: {len(lost)} rows have no {x!r} value, their values not imported "
                        f"({_places([origins[i] for i in lost], len(lost))})")
    kept, where = [rows[i] for i in placed], [origins[i] for i in placed]
    _check_x(kept, x, source, where)
    numeric, text = _columns([n for n in names if n != x], kept, where, source, warnings)
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
    scale = _percentages(kept, rename, source, notes)
    merged, again = _merge(kept, where, x, rename, scale)
    for key, places in again.items():
        warnings.append(f"{source}: {len(places)} values of {key} logged again at {'an' if x_axis == 'epoch' else 'a'} "
                        f"{x_axis} that already had one; the later kept, not imported: {_places(places, len(places))}")
    non_finite = sum(1 for row in merged for k, v in row.items() if v is None and k != "step")
    if non_finite:
        notes.append(f"{non_finite} values NaN or infinite, stored as null (as groklab's own runs store them)")
    tests = sorted(n for n, target in auto.items() if keys.is_test(n))
    if tests:
        notes.append(f"val/* comes from the source's test metrics ({', '.join(tests)})")
    _unrecognised(numeric, rename, source, notes, warnings)
    return ImportedRun(source=source, format=fmt, x_axis=x_axis, x_column="" if x == INDEX else _original(x, mapping),
                       rows=merged, hparams=table.hparams, meta=table.meta,
                       key_map={n: t for n, t in rename.items() if n != t} | _user_map(mapping, x),
                       skipped=text, notes=notes, warnings=warnings)


INDEX = "\0row"  # the x column that `rows_are` adds: no source name can be it


def _listing(names: list[str], limit: int = 12) -> str:
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "") or "none"


def _places(places: list[str], count: int) -> str:
    return ", ".join(places[:SHOWN]) + (f", ... ({count} in all)" if count > SHOWN else "")


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


def _x_column(names: list[str], rows: list[dict[str, Any]], source: Path, fixed: str | None,
              rows_are: str | None) -> tuple[str, str]:
    """(the x column, "step" or "epoch")."""
    if rows_are is not None:
        return INDEX, rows_are
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
    raise GroklabError(f"{source}: no step or epoch column (columns: {_listing(names)}); name the one that counts "
                       "with --map NAME=step or --map NAME=epoch, or, if each row is one epoch (Keras's "
                       "History.history) or one step, say so with --rows-are epoch or --rows-are step")


def _check_x(rows: list[dict[str, Any]], x: str, source: Path, where: list[str]) -> None:
    """x must be a whole number that never goes back: a drop means a second run appended to the file."""
    last = None
    for row, place in zip(rows, where, strict=True):
        value = row[x]
        if isinstance(value, str) or not math.isfinite(value) or value != int(value) or abs(value) >= 2**63:
            raise GroklabError(f"{source}: {x} = {value!r} ({place}) is not a whole number")
        if last is not None and value < last:
            raise GroklabError(f"{source}: {x} goes back from {last:g} to {value:g} ({place}): rows of "
                               "several runs in one file? split them into one file per run")
        last = value


def _columns(names: list[str], rows: list[dict[str, Any]], where: list[str], source: Path,
             warnings: list[str]) -> tuple[list[str], list[str]]:
    """(numeric columns, text columns). A numeric column keeps its numbers; its cells that are not numbers are
    set to None in `rows` (each counted in a warning). A column with no number at all is text: left out, said."""
    numeric, text = [], []
    for name in names:
        cells = [(i, row[name]) for i, row in enumerate(rows) if row.get(name) is not None]
        bad = [(i, v) for i, v in cells if isinstance(v, str)]
        if len(bad) == len(cells):
            if bad:
                text.append(name)
                warnings.append(f"{source}: column {name!r} holds text, not numbers ({len(bad)} cells, e.g. "
                                f"{where[bad[0][0]]}: {bad[0][1][:30]!r}): not imported")
            continue
        numeric.append(name)
        if bad:
            shown = _places([f"{where[i]}: {v[:30]!r}" for i, v in bad], len(bad))
            warnings.append(f"{source}: column {name!r}: {len(bad)} of {len(cells)} cells are not numbers, imported "
                            f"as null ({shown})")
            for i, _ in bad:
                rows[i] = {**rows[i], name: None}
    return numeric, text


def _percentages(rows: list[dict[str, Any]], rename: dict[str, str], source: Path,
                 notes: list[str]) -> dict[str, float]:
    """{source name: 1/100} for accuracy columns logged in percent (top-1 in ImageNet-style logs: 0..100).
    An accuracy outside 0..100 is no accuracy: refused, with the way to keep it under its own name."""
    scale = {}
    for name, key in rename.items():
        if not key.endswith("/acc"):
            continue
        values = [float(v) for row in rows if isinstance(v := row.get(name), int | float) and math.isfinite(v)]
        if not values or (min(values) >= 0 and max(values) <= 1):
            continue
        if min(values) < 0 or max(values) > 100:
            raise GroklabError(f"{source}: {name} holds values from {min(values):g} to {max(values):g}, not an "
                               f"accuracy (0..1) or a percentage (0..100); keep it under its own name with "
                               f"--map {name}=source/{name}")
        scale[name] = 0.01
        notes.append(f"{name} is in percent (up to {max(values):g}): {key} = {name} / 100")
    return scale


def _unrecognised(numeric: list[str], rename: dict[str, str], source: Path, notes: list[str],
                  warnings: list[str]) -> None:
    """Say which columns kept their own names: a warning with the --map to give when no validation metric was
    recognised (the verdict then cannot speak of generalization), a note otherwise."""
    own = [n for n in numeric if rename[n] not in keys.TARGETS and keys.x_kind(n) is None
           and n.lower() not in keys.BOOKKEEPING]
    if not any(rename[n].startswith("val/") for n in numeric):
        advice = (f"columns kept under their own names: {_listing(own)}; if one is the validation accuracy or "
                  f"loss, import again with --force --map {own[0]}=val/acc (or val/loss)") if own else (
                  "only training metrics were logged")
        warnings.append(f"{source}: no validation metric recognised (val/acc or val/loss), so no verdict; {advice}")
    elif own:
        notes.append(f"kept under their own names: {_listing(own)}")


def _merge(rows: list[dict[str, Any]], where: list[str], x: str, rename: dict[str, str],
           scale: dict[str, float]) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """One line per x value, keys renamed; a key logged twice at one x with another value keeps the later value
    ({key: places of the earlier values, which are not imported})."""
    merged: dict[int, dict[str, Any]] = {}
    came_from: dict[tuple[int, str], str] = {}
    again: dict[str, list[str]] = {}
    for row, place in zip(rows, where, strict=True):
        line = merged.setdefault(int(row[x]), {"step": int(row[x])})
        for name, value in row.items():
            if name not in rename or value is None:
                continue
            key = rename[name]
            value = value * scale.get(name, 1) if math.isfinite(value) else None
            if key in line and line[key] != value:
                again.setdefault(key, []).append(came_from[line["step"], key])
            line[key] = value
            came_from[line["step"], key] = place
    return [merged[s] for s in sorted(merged)], again


def series_rows(series: Mapping[str, list[tuple[int | float, Any]]], source: Path) -> tuple[list[dict[str, Any]],
                                                                                          list[str]]:
    """(rows {"step": s, name: v}, their origins) from per-metric series (TensorBoard tags, Sacred metrics),
    ordered by step, the series' own order kept within a step. A series whose steps go back holds several runs."""
    cells = []
    for order, (name, points) in enumerate(series.items()):
        for (a, _), (b, _) in itertools.pairwise(points):
            if b < a:
                raise GroklabError(f"{source}: the steps of {name} go back from {a:g} to {b:g}: several runs in "
                                   "one source? import each run on its own")
        cells += [(step, order, {"step": step, name: value}, f"{name}[{i}]")
                  for i, (step, value) in enumerate(points)]
    cells.sort(key=lambda c: (c[0], c[1]))
    return [c[2] for c in cells], [c[3] for c in cells]
