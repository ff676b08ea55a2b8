"""A chart's data exported from the wandb web UI (a line plot's "Export panel data" CSV).

Columns: the chart's x axis (`Step`, or a custom one such as `epoch`), then `<run name> - <metric>` with
`<run name> - <metric>__MIN` and `__MAX` (the bounds of the points wandb's sampling merged; equal to the value
when nothing was merged). Only the value columns are read; several run names mean several runs in one file.
"""

from __future__ import annotations

from pathlib import Path

from groklab.errors import GroklabError
from groklab.importers.files import read_csv
from groklab.importers.record import Table

SEP = " - "


def is_chart_export(header: list[str]) -> bool:
    return len(header) > 1 and all(SEP in h for h in header[1:] if h)


def read(path: Path) -> Table:
    table = read_csv(path)
    header, rows = table.header, table.rows
    if not is_chart_export(header):
        raise GroklabError(f"{path}: not a wandb chart export (expected columns like 'Step', "
                           "'<run> - <metric>', '<run> - <metric>__MIN')")
    x = header[0]
    values = [h for h in header[1:] if h and not h.endswith(("__MIN", "__MAX"))]
    runs = list(dict.fromkeys(h.split(SEP, 1)[0] for h in values))
    if len(runs) > 1:
        raise GroklabError(f"{path}: columns of {len(runs)} runs ({', '.join(runs[:4])}); export one run per "
                           "file, or filter the chart to one run")
    metric = {h: h.split(SEP, 1)[1] for h in values}
    values_rows = [{x: row.get(x), **{metric[h]: row[h] for h in values if h in row}} for row in rows]
    return Table(rows=values_rows, meta={"run_name": runs[0]} if runs else {}, x=x, origins=table.lines,
                 warnings=table.warnings)
