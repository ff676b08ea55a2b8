"""Histories with known verdicts, and a helper that imports a source and detects on the run folder."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from groklab.analysis.detect import detect, detect_run
from groklab.importers import import_source
from groklab.importers.folder import folder_name, write_run_folder
from groklab.runs import columns as rows_to_columns

DETECTED = ("verdict", "memorization_step", "generalization_step")


def curve(t: int, start: int | None, lo: float, hi: float) -> float:
    """`lo` until `start`, then a fast rise to `hi` (values stay clear of the detector's levels)."""
    if start is None or t < start:
        return lo
    return hi - (hi - lo) * math.exp(-(t - start) / 40)


def make_history(train_at: int | None, val_at: int | None, steps: int = 3000, every: int = 50) -> list[dict[str, Any]]:
    """Rows of step, losses and accuracies: train accuracy rises at `train_at`, validation at `val_at`."""
    rows = []
    for t in range(0, steps + 1, every):
        tr, va = curve(t, train_at, 0.043, 0.9997), curve(t, val_at, 0.041, 0.9993)
        rows.append({"step": t, "train/loss": round(-math.log(tr), 6), "train/acc": round(tr, 6),
                     "val/loss": round(-math.log(va), 6), "val/acc": round(va, 6)})
    return rows


HISTORIES = {"grokking": (200, 2000), "comprehension": (200, 350), "memorization": (200, None)}


@pytest.fixture(params=list(HISTORIES))
def original(request) -> tuple[str, list[dict[str, Any]]]:
    """(expected verdict, rows) for each kind of history."""
    return request.param, make_history(*HISTORIES[request.param])


def verdict_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    det = detect(rows_to_columns(rows))
    return {k: det[k] for k in DETECTED}


def import_and_detect(src: Path, out: Path, **kwargs: Any) -> tuple[dict[str, Any], Path]:
    """Import `src`, write its run folder under `out`, detect on the folder: (detected fields, folder)."""
    run = import_source(src, **kwargs)
    folder = write_run_folder(out / folder_name(run), run)
    det = detect_run(folder)
    return {k: det[k] for k in DETECTED}, folder
