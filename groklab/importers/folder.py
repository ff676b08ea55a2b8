"""The run folder an import writes (design.md "Run folder"): config.json, metrics.jsonl, summary.json.

`write_run_folder` is the one place that writes it. config.json is `{"imported": {"format", "source",
"hparams", "meta"}}`: what the source recorded, as a plain dict — not a groklab RunConfig, which an imported run
does not have. summary.json has status `imported`, the source and format, `x_axis` (`step` or `epoch`: what the
`step` of each metrics line counts) and `x_column` (the source's name for it), `kind` (classification if an
accuracy column holds a number, else regression), `steps` (the last x), `final`, `thresholds` (as a trained run
has them), `key_map` (source name -> groklab key), `skipped` (text columns), `notes` and `unread` (what could not
be read, as the import printed it on stderr).
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any

from groklab.analysis.detect import infer_kind
from groklab.errors import GroklabError
from groklab.importers.record import ImportedRun
from groklab.runs import columns, first_crossings, write_folder

STATUS = "imported"


def folder_name(imported: ImportedRun) -> str:
    """`<parent>-<name>-<hash8>` from the source path: readable, one path component, and distinct for distinct
    sources (the hash of the absolute path, like a trained run's `<prefix>-<hash8>`)."""
    source = imported.source.resolve()
    stem = source.stem if source.is_file() else source.name
    if source.is_file() and stem.startswith("events.out.tfevents"):
        stem = ""  # the event file's folder names the TensorBoard run
    words = [w for w in (source.parent.name, stem) if w]
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(words)).strip("._-")[:60] or imported.format
    digest = hashlib.sha256(str(source).encode()).hexdigest()[:8]
    return f"{readable}-{digest}"


def summary(imported: ImportedRun) -> dict[str, Any]:
    history = columns(imported.rows)
    fields: dict[str, Any] = {
        "status": STATUS, "source": str(imported.source.resolve()), "format": imported.format,
        "x_axis": imported.x_axis, "x_column": imported.x_column, "kind": infer_kind(history),
        "steps": imported.rows[-1]["step"] if imported.rows else 0, "total_steps": None,
        "final": imported.rows[-1] if imported.rows else None, "error": None,
    }
    if any("train/acc" in r for r in imported.rows):
        fields["thresholds"] = {k: first_crossings(imported.rows, k) for k in ("train/acc", "val/acc")}
    return {**fields, "key_map": imported.key_map, "skipped": imported.skipped, "notes": imported.notes,
            "unread": imported.warnings}


def check_target(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise GroklabError(f"{path} exists: add --force to replace it")


def write_run_folder(out_dir: Path, imported: ImportedRun, force: bool = False) -> Path:
    """Write `imported` as the run folder `out_dir` (through runs.write_folder: all at once)."""
    config = {"imported": {"format": imported.format, "source": str(imported.source.resolve()),
                           "hparams": imported.hparams, "meta": imported.meta}}
    return write_folder(Path(out_dir), _jsonable(config), imported.rows, summary(imported), force)


def _jsonable(obj: Any) -> Any:
    """The source's config as strict JSON: a YAML date or other odd value becomes its text, and so does a number
    JSON cannot hold (NaN, inf: `lr: .inf` in a YAML file)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj if obj is None or isinstance(obj, bool | int | float | str) else str(obj)
