"""`groklab import`: runs made by other code (Lightning CSVLogger, TensorBoard, wandb, JSON histories, Sacred)
turned into ordinary run folders (design.md "Run folder"), so detection, plots and reports work on them.

Each format has a pure reader (path -> `Table`, the source's rows under its own names); `record.build` maps the
names onto groklab's keys and one x axis (`ImportedRun`); `folder.write_run_folder` writes the folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from groklab.importers.formats import READERS, detect_format, locate
from groklab.importers.record import ImportedRun, Table, build

__all__ = ["READERS", "ImportedRun", "Table", "detect_format", "import_source", "locate"]


def import_source(path: Path | str, fmt: str | None = None, mapping: Mapping[str, str] | None = None,
                  rows_are: str | None = None) -> ImportedRun:
    """Read one source (format auto-detected unless `fmt`) into an ImportedRun; nothing is written. `rows_are`
    ("epoch" or "step"): the source has no x column and its rows are epochs (steps) 0, 1, 2, ..."""
    found, where = locate(Path(path), fmt)
    return build(READERS[found](where), found, where, mapping, rows_are)
