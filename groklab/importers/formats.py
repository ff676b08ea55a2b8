"""Which reader a source needs: `detect_format(path)`, `locate(path, fmt)`, and the readers by format name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from groklab.errors import GroklabError
from groklab.importers import json_history, lightning_csv, sacred_run, tensorboard_events, wandb_csv, wandb_offline
from groklab.importers.files import read_csv, read_json
from groklab.importers.record import Table

READERS: dict[str, Callable[[Path], Table]] = {
    "lightning": lightning_csv.read,
    "tensorboard": tensorboard_events.read,
    "wandb": wandb_offline.read,
    "wandb-csv": wandb_csv.read,
    "json": json_history.read_lists,
    "jsonl": json_history.read_lines,
    "sacred": sacred_run.read,
}
EXPECTED = ("a Lightning CSVLogger folder or CSV, a TensorBoard event file or folder, a wandb run folder or chart "
            "CSV export, a JSON history (lists per metric, or a list of rows), JSON Lines, or a Sacred run folder")


def _folder_format(path: Path) -> str | None:
    """The format of a run folder, from the files in it; None if it is not one."""
    if (path / "metrics.csv").is_file():
        return "lightning"
    if (path / "metrics.json").is_file() and ((path / "run.json").is_file() or (path / "config.json").is_file()):
        return "sacred"
    if wandb_offline.is_run_folder(path):
        return "wandb"
    if tensorboard_events.is_run_folder(path):
        return "tensorboard"
    return None


def _file_format(path: Path) -> str | None:
    name = path.name.lower()
    if tensorboard_events.is_event_file(path):
        return "tensorboard"
    if path.suffix == ".wandb" or name == "wandb-history.jsonl":
        return "wandb"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".csv"):
        return "wandb-csv" if wandb_csv.is_chart_export(read_csv(path).header) else "lightning"
    if name.endswith(".json"):
        data = read_json(path)
        if name == "metrics.json" and isinstance(data, dict) and data and all(
                isinstance(v, dict) and "steps" in v and "values" in v for v in data.values()):
            return "sacred"
        return "json" if isinstance(data, dict) or (isinstance(data, list) and data and
                                                    all(isinstance(e, dict) for e in data)) else None
    return None


def locate(path: Path, fmt: str | None = None) -> tuple[str, Path]:
    """(format, path to read). A folder that is not itself a run but holds exactly one run folder is read as
    that folder (`lightning_logs/` with one `version_0/`); several are several runs and refused."""
    path = Path(path)
    if not path.exists():
        raise GroklabError(f"{path}: no such file or folder")
    if fmt is not None and fmt not in READERS:
        raise GroklabError(f"--from {fmt}: unknown format; choose one of {', '.join(READERS)}")
    if path.is_file():
        found = _file_format(path)
        if fmt is None and found is None:
            raise GroklabError(f"{path}: unknown format (expected {EXPECTED}); --from FORMAT to force one")
        return fmt or str(found), path
    try:
        found = _folder_format(path)
        children = [(c, _folder_format(c)) for c in sorted(path.iterdir()) if c.is_dir() and not c.is_symlink()]
    except OSError as e:
        raise GroklabError(f"{path}: cannot read the folder ({e.strerror or e})") from None
    if found is not None and fmt in (None, found):
        return found, path
    runs = [(c, f) for c, f in children if f is not None and fmt in (None, f)]
    if len(runs) == 1:
        return str(runs[0][1]), runs[0][0]
    if runs:
        names = ", ".join(c.name for c, _ in runs[:4]) + (", ..." if len(runs) > 4 else "")
        raise GroklabError(f"{path}: holds {len(runs)} runs ({names}); give each as its own SRC")
    if fmt is not None:
        return fmt, path  # forced: the reader says what is missing
    raise GroklabError(f"{path}: unknown format (expected {EXPECTED}); --from FORMAT to force one")


def detect_format(path: Path) -> str:
    """The format name of a source (one of READERS), or a one-line GroklabError."""
    return locate(path)[0]
