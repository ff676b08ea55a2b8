"""Sacred's FileStorageObserver run folder: `<basedir>/<run id>/` with `metrics.json` (`{name: {"steps": [...],
"values": [...], "timestamps": [...]}}`, one entry per `_run.log_scalar(name, value, step)`), `config.json`
(the experiment's config) and `run.json` (status, times, experiment name).

Sacred records one step per value and no epoch, so the x axis is that step (whatever the loop passed as it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from groklab.errors import GroklabError
from groklab.importers.files import number, read_json
from groklab.importers.record import Table, series_rows

RUN_FACTS = ("status", "start_time", "stop_time", "command")


def read(path: Path) -> Table:
    folder = path if path.is_dir() else path.parent
    metrics = read_json(folder / "metrics.json")
    if not isinstance(metrics, dict) or not all(_is_series(v) for v in metrics.values()):
        raise GroklabError(f"{folder / 'metrics.json'}: expected {{name: {{\"steps\": [...], \"values\": [...]}}}}"
                           " (Sacred's FileStorageObserver layout)")
    series = {}
    for name, entry in metrics.items():
        steps, values = [number(s) for s in entry["steps"]], entry["values"]
        if len(steps) != len(values) or not all(isinstance(s, int | float) for s in steps):
            raise GroklabError(f"{folder / 'metrics.json'}: {name} needs as many numeric steps as values")
        series[name] = [(s, number(v)) for s, v in zip(steps, values, strict=True)]
    config = read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
    run = read_json(folder / "run.json") if (folder / "run.json").is_file() else {}
    if not isinstance(run, dict):
        raise GroklabError(f"{folder / 'run.json'}: expected an object (Sacred's run record), found "
                           f"{type(run).__name__}")
    meta = {k: run[k] for k in RUN_FACTS if k in run}
    if isinstance(run.get("experiment"), dict) and "name" in run["experiment"]:
        meta["experiment"] = run["experiment"]["name"]
    hparams = config if isinstance(config, dict) else {"config": config}
    rows, origins = series_rows(series, folder / "metrics.json")
    return Table(rows=rows, hparams=hparams, meta=meta, origins=origins)


def _is_series(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("steps"), list)
            and isinstance(value.get("values"), list))
