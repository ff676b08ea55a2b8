"""A wandb run folder (`wandb/offline-run-<time>-<id>/` or `wandb/run-<time>-<id>/`).

The history is read from `files/wandb-history.jsonl` where the run wrote one (one dict per `wandb.log`, with
wandb's `_step`, `_runtime`, `_timestamp`), else from the binary `run-<id>.wandb` through the wandb package's
own reader (`wandb.sdk.internal.datastore`, shipped by the wandb versions that read these files in Python; the
protobuf records are wandb's `Record` messages). The config is `files/config.yaml` (`{key: {value: ...}}`, wandb's
internal `_wandb` entry left out) or, from the binary file, its config records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from groklab.config import flatten
from groklab.errors import GroklabError
from groklab.importers.files import number, read_mapping, require
from groklab.importers.json_history import read_lines
from groklab.importers.record import Table

HISTORY = Path("files") / "wandb-history.jsonl"
CONFIG = Path("files") / "config.yaml"


def is_run_folder(path: Path) -> bool:
    return path.is_dir() and ((path / "files").is_dir() or any(path.glob("*.wandb")))


def run_folder(path: Path) -> Path:
    """The run folder of `path`: the folder itself, or the one holding a given .wandb or history file."""
    if path.is_dir():
        return path
    return path.parent.parent if path.parent.name == "files" else path.parent


def read(path: Path) -> Table:
    folder = run_folder(path)
    meta = {"run_id": folder.name.rsplit("-", 1)[-1]} if folder.name.count("-") >= 2 else {}
    hparams = _config_yaml(folder / CONFIG) if (folder / CONFIG).is_file() else None
    if (folder / HISTORY).is_file():
        table = read_lines(folder / HISTORY)
        return Table(rows=table.rows, hparams=hparams or {}, meta=meta, notes=table.notes)
    binaries = sorted(folder.glob("*.wandb"))
    if not binaries:
        raise GroklabError(f"{folder}: a wandb run folder needs files/wandb-history.jsonl or a run-<id>.wandb file")
    rows, config = _read_binary(binaries[-1])
    return Table(rows=rows, hparams=hparams if hparams is not None else config, meta=meta)


def _config_yaml(path: Path) -> dict[str, Any]:
    data = read_mapping(path)
    return {k: v["value"] if isinstance(v, dict) and "value" in v else v
            for k, v in data.items() if not str(k).startswith("_wandb") and k != "wandb_version"}


def _read_binary(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    wandb = require("wandb", f"reading {path.name}")
    try:
        from wandb.proto import wandb_internal_pb2
        from wandb.sdk.internal import datastore
    except ImportError:
        raise GroklabError(f"{path}: wandb {wandb.__version__} has no offline reader for .wandb files "
                           "(wandb.sdk.internal.datastore); sync the run and import a chart's CSV export, or "
                           "use a wandb version that has it") from None
    store = datastore.DataStore()
    rows: list[dict[str, Any]] = []
    config: dict[str, Any] = {}
    try:
        store.open_for_scan(str(path))
        while (data := store.scan_data()) is not None:
            record = wandb_internal_pb2.Record()
            record.ParseFromString(data)
            kind = record.WhichOneof("record_type")
            if kind == "history":
                rows.append({k: number(v) for k, v in flatten(_items(record.history.item)).items()})
            elif kind == "run":
                config.update(_items(record.run.config.update))
            elif kind == "config":
                config.update(_items(record.config.update))
    except Exception as e:  # wandb's reader raises assertion and struct errors on a damaged file
        raise GroklabError(f"{path}: cannot read it ({type(e).__name__}: {e})") from None
    return rows, {k: v for k, v in config.items() if not k.startswith("_wandb")}


def _items(items: Any) -> dict[str, Any]:
    """wandb's {key or nested_key, value_json} items as a dict."""
    return {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items}
