"""A real grokking run, trained by a plain PyTorch loop that logs the way other code does (Lightning's CSVLogger
and a TensorBoard SummaryWriter), imported back: detection on the imports matches the loop's own history.

The run: (x + y) mod 23 from 60% of the pairs, an embedding + one-hidden-layer MLP, full batch, AdamW with
weight decay 1 (weight decay is what drives the late generalization: Power et al. 2022, papers.md §01;
Liu et al. 2022 §02). Train accuracy passes 99% within 25 steps, validation about 1200 steps later.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import import_and_detect, verdict_of

P, TRAIN_FRAC, STEPS, EVERY, STEPS_PER_EPOCH = 23, 0.6, 2000, 25, 10


def train(log: Any) -> list[dict[str, Any]]:
    """Train and evaluate every EVERY steps; `log(step, train_metrics, val_metrics)` is called at each
    evaluation. Returns the loop's own history (groklab keys)."""
    torch.manual_seed(0)
    pairs = torch.cartesian_prod(torch.arange(P), torch.arange(P))
    labels = (pairs[:, 0] + pairs[:, 1]) % P
    order = torch.randperm(len(pairs))
    n = int(TRAIN_FRAC * len(pairs))
    train_idx, val_idx = order[:n], order[n:]
    model = torch.nn.Sequential(torch.nn.Embedding(P, 32), torch.nn.Flatten(), torch.nn.Linear(64, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, P))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1.0, betas=(0.9, 0.98))
    history = []
    for step in range(STEPS + 1):
        if step % EVERY == 0:
            with torch.no_grad():
                logits = model(pairs)
                row = {"step": step}
                for split, idx in (("train", train_idx), ("val", val_idx)):
                    row[f"{split}/loss"] = torch.nn.functional.cross_entropy(logits[idx], labels[idx]).item()
                    row[f"{split}/acc"] = (logits[idx].argmax(1) == labels[idx]).float().mean().item()
            history.append(row)
            log(step, {"loss": row["train/loss"], "acc": row["train/acc"]},
                {"loss": row["val/loss"], "acc": row["val/acc"]})
        if step < STEPS:
            loss = torch.nn.functional.cross_entropy(model(pairs[train_idx]), labels[train_idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return history


@pytest.mark.slow
def test_real_grokking_run_imported_from_lightning_csv_and_tensorboard(tmp_path):
    loggers = pytest.importorskip("lightning.pytorch.loggers")
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    csv_logger = loggers.CSVLogger(tmp_path / "lightning_logs", name="modadd")
    csv_logger.log_hyperparams({"p": P, "lr": 1e-2, "weight_decay": 1.0})
    writer = SummaryWriter(str(tmp_path / "tb" / "modadd"))

    def log(step: int, train_m: dict[str, float], val_m: dict[str, float]) -> None:
        epoch = step // STEPS_PER_EPOCH  # as a Trainer adds it to every row
        csv_logger.log_metrics({"train_loss": train_m["loss"], "train_acc": train_m["acc"], "epoch": epoch}, step)
        csv_logger.log_metrics({"val_loss": val_m["loss"], "val_acc": val_m["acc"], "epoch": epoch}, step)
        for name, value in (("Loss/train", train_m["loss"]), ("Accuracy/train", train_m["acc"]),
                            ("Loss/val", val_m["loss"]), ("Accuracy/val", val_m["acc"])):
            writer.add_scalar(name, value, step)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng():
            history = train(log)
    finally:
        torch.set_num_threads(threads)
    csv_logger.save()
    writer.close()

    own = verdict_of(history)
    assert own["verdict"] == "grokking"
    from_csv, csv_folder = import_and_detect(Path(csv_logger.log_dir), tmp_path / "out")
    from_tb, _ = import_and_detect(tmp_path / "tb" / "modadd", tmp_path / "out")
    assert from_csv == own and from_tb == own
    lines = [json.loads(x) for x in (csv_folder / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [r["step"] for r in history]
    assert all(line[k] == row[k] for line, row in zip(lines, history, strict=True) for k in row)
