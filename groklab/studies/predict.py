"""Predicted m-heights of new codes from a finished m-height run (`groklab mheight predict`, `groklab.predict_heights`).

The codes [I_k | P] are encoded as the run's training rows were (groklab.tasks.mheight.scoring_task with the run's
fitted statistics: the features' standardisation, the entry scale, the groups' heads), the model gives log2 ĥ, and
optionally the exact height (the batched vertex method, groklab.mheight.heights) is computed beside it with the
error in log2. Features and forward pass are timed separately: on a CPU the features cost more than the model, and
the exact labels are cheaper still (benchmarks/RESULTS.md), so the model is for studying learning.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from groklab.engine.common import DTYPES, resolve_device
from groklab.errors import GroklabError
from groklab.io import atomic_write
from groklab.mheight.dataset import check_table, exact_labels, make_table, pad, pad_shape, unpad
from groklab.studies.evaluate import model_for, open_trained
from groklab.tasks.mheight import scoring_task

BATCH = 8192


@dataclass(frozen=True)
class Prediction:
    """Per row: n, k, m, P (zero-padded), the predicted log2 height and height, and with `exact` the exact height
    and log2(predicted) - log2(exact) (NaN where the exact height is infinite); timings in seconds."""

    table: dict[str, np.ndarray]
    log2_pred: np.ndarray
    exact: np.ndarray | None
    seconds: dict[str, float]

    @property
    def pred(self) -> np.ndarray:
        return np.exp2(self.log2_pred)

    @property
    def log2_error(self) -> np.ndarray | None:
        if self.exact is None:
            return None
        with np.errstate(divide="ignore"):
            return np.where(np.isfinite(self.exact), self.log2_pred - np.log2(self.exact), np.nan)

    @property
    def rows_per_second(self) -> float:
        return len(self.log2_pred) / max(self.seconds["features"] + self.seconds["model"], 1e-9)


def codes_table(P: Any, n: Any = None, k: Any = None, m: Any = None) -> dict[str, np.ndarray]:
    """The unlabelled table of codes: P one k x (n-k) matrix or a stack (B, k, n-k); n and k default to P's shape
    (and are checked against it), m is required (one value or one per code)."""
    arr = np.asarray(P, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] < 1 or arr.shape[2] < 1 or len(arr) == 0:
        raise GroklabError(f"P must be a k x (n-k) matrix or a stack of them, got shape {np.shape(P)}")
    rows, cols = arr.shape[1:]
    if m is None:
        raise GroklabError("m is required (the m of the height h_m)")
    kk = rows if k is None else int(k)
    nn = kk + cols if n is None else int(n)
    if (rows, cols) != (kk, nn - kk):
        raise GroklabError(f"P is {rows} x {cols}, but n = {nn}, k = {kk} need a k x (n-k) = {kk} x {nn - kk} matrix")
    B = len(arr)
    cols = {name: np.broadcast_to(np.asarray(v, dtype=np.int64), (B,)) for name, v in
            (("n", nn), ("k", kk), ("m", m))}
    table = make_table(cols["n"], cols["k"], cols["m"], pad(list(arr), pad_shape(cols["k"], cols["n"])),
                       np.full(B, np.nan))
    check_table(table, "P", labelled=False)
    return table


@torch.no_grad()
def predict_table(run: Path | str, table: dict[str, np.ndarray], checkpoint: str | int = "latest",
                  exact: bool = False, device: str = "cpu") -> Prediction:
    """Predictions of a finished m-height run's model for every row of an unlabelled (or labelled) table."""
    trained = open_trained(run, checkpoint)
    if trained.config.task.name != "mheight":
        raise GroklabError(f"{trained.run.path} is a task.name={trained.config.task.name} run; mheight predict "
                           "needs an m-height run (groklab run mheight)")
    dev = resolve_device(device)
    unlabelled = table | {"height": np.full(len(table["n"]), np.nan), "is_inf": np.zeros(len(table["n"]), bool)}
    start = time.perf_counter()
    task = scoring_task(unlabelled, trained.record["task"], None)
    features = time.perf_counter() - start
    model = model_for(trained, task, dev)
    x = task.x_val.to(device=dev, dtype=DTYPES[trained.config.train.dtype])
    start = time.perf_counter()
    out = torch.cat([model(x[i : i + BATCH]).reshape(-1) for i in range(0, len(x), BATCH)])
    log2_pred = out.double().cpu().numpy()
    seconds = {"features": features, "model": time.perf_counter() - start}
    labels = None
    if exact:  # heights the table already holds (a labelled data file) are kept
        start = time.perf_counter()
        labels = exact_labels(table)
        seconds["exact"] = time.perf_counter() - start
    return Prediction(table, log2_pred, labels["height"] if labels is not None else None, seconds)


def predict_heights(run: Path | str, P: Any, n: Any = None, k: Any = None, m: Any = None,
                    checkpoint: str | int = "latest", exact: bool = False) -> Prediction:
    """The Python API of `groklab mheight predict`: predicted heights (`.pred`, `.log2_pred`) of the codes
    [I_k | P] (one matrix or a stack) for one m, from a finished m-height run; `exact=True` adds `.exact` and
    `.log2_error`."""
    return predict_table(run, codes_table(P, n, k, m), checkpoint, exact)


def to_csv(pred: Prediction) -> str:
    """n, k, m, P ('a,b;c,d'), predicted, log2_predicted (and exact, log2_error) per row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    extra = ["exact", "log2_error"] if pred.exact is not None else []
    writer.writerow(["n", "k", "m", "P", "predicted", "log2_predicted", *extra])
    t = pred.table
    err = pred.log2_error
    for i in range(len(pred.log2_pred)):
        n, k = int(t["n"][i]), int(t["k"][i])
        P = ";".join(",".join(repr(float(v)) for v in row) for row in unpad(t["P"][i], n, k))
        row = [n, k, int(t["m"][i]), P, repr(float(pred.pred[i])), repr(float(pred.log2_pred[i]))]
        if pred.exact is not None and err is not None:
            row += [repr(float(pred.exact[i])), "" if np.isnan(err[i]) else repr(float(err[i]))]
        writer.writerow(row)
    return buf.getvalue()


def write_csv(pred: Prediction, out: Path) -> None:
    atomic_write(out, to_csv(pred))
