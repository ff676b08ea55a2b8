"""PyTorch Lightning's CSVLogger: `<save_dir>/<name>/version_<n>/metrics.csv` and `hparams.yaml` beside it.

metrics.csv has one column per logged name plus `step` (the trainer's global step) and, under a Trainer,
`epoch`; each `log_metrics` call is one row, so train and validation metrics land in separate rows with empty
cells for what a row did not log. Any CSV with a header and a step or epoch column reads the same way.
"""

from __future__ import annotations

from pathlib import Path

from groklab.errors import GroklabError
from groklab.importers.files import read_csv, read_mapping
from groklab.importers.record import Table


def read(path: Path) -> Table:
    csv_path = path / "metrics.csv" if path.is_dir() else path
    if not csv_path.is_file():
        raise GroklabError(f"{path}: no metrics.csv (a Lightning CSVLogger folder holds one)")
    table = read_csv(csv_path)
    hparams_path = csv_path.parent / "hparams.yaml"
    return Table(rows=table.rows, hparams=read_mapping(hparams_path) if hparams_path.is_file() else {},
                 origins=table.lines, warnings=table.warnings)
