"""A wandb run folder (`wandb/offline-run-<time>-<id>/` or `wandb/run-<time>-<id>/`).

The history is read from `files/wandb-history.jsonl` where the run wrote one (one dict per `wandb.log`, with
wandb's `_step`, `_runtime`, `_timestamp`; older wandb versions), else from the binary `run-<id>.wandb`
transaction log that current versions write offline, through wandb's own reader (`wandb leet inspect --json`,
wandb >= 0.30: its history records' items, nested keys joined with `.`). The config is `files/config.yaml`
(`{key: {value: ...}}`, wandb's internal `_wandb` entry left out) or, from the binary file, its run and config
records.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from groklab.config import PARSED_BYTES, check_size, flatten
from groklab.errors import GroklabError
from groklab.importers.files import number, read_mapping, require
from groklab.importers.json_history import read_lines
from groklab.importers.record import Table
from groklab.io import loads

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
        return Table(rows=table.rows, hparams=hparams or {}, meta=meta, notes=table.notes, origins=table.origins,
                     warnings=table.warnings)
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
    """History rows and config from a .wandb transaction log, through wandb's own reader (`wandb leet inspect
    --json`, which prints one JSON line per record). Damage it reports (a checksum mismatch, a cut record)
    leaves the history's extent unknown: refused in one line."""
    wandb = require("wandb", f"reading {path.name}")
    check_size(f"reading {path} ({path.stat().st_size:,} bytes)", path.stat().st_size * PARSED_BYTES,
               "import the run's chart CSV export instead")
    env = {**os.environ, "WANDB_SILENT": "true", "WANDB_MODE": "offline"}
    try:
        done = subprocess.run([sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(path)],
                              capture_output=True, text=True, timeout=600, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as e:
        raise GroklabError(f"{path}: wandb's reader did not run ({e})") from None
    said = " ".join(done.stderr.split())
    if done.returncode != 0 and ("No such command" in said or "no such option" in said.lower()):
        raise GroklabError(f"{path}: reading .wandb files needs wandb >= 0.30 (its `wandb leet inspect --json`; "
                           f"this is {wandb.__version__}): pip install -U wandb") from None
    if done.returncode != 0 or said:
        raise GroklabError(f"{path}: wandb's reader says: {said[:300] or f'exit status {done.returncode}'}; so how "
                           "much of the history it held cannot be told; nothing imported (if the run is still "
                           "writing it, import it when the run has stopped)")
    rows: list[dict[str, Any]] = []
    config: dict[str, Any] = {}
    try:
        for line in done.stdout.splitlines():
            record = loads(line)
            kind = record.get("type")
            if kind == "history":
                rows.append({k: number(v) for k, v in flatten(record["history"].get("item") or {}).items()})
            elif kind in ("run", "config"):
                update = (record[kind].get("config") or {}) if kind == "run" else record[kind]
                config.update(update.get("update") or {})
    except (ValueError, KeyError, AttributeError, TypeError) as e:
        raise GroklabError(f"{path}: wandb {wandb.__version__}'s reader printed what groklab cannot read "
                           f"({type(e).__name__}: {e})") from None
    return rows, {k: v for k, v in config.items() if not k.startswith("_wandb")}
