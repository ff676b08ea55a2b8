"""Metric names of other code -> groklab's keys (design.md "Run folder": `train/loss`, `val/loss`, `train/acc`,
`val/acc`), and the names that count as the x axis.

A name maps when its tokens (split at `/ _ . -`, spaces and camelCase, lower-cased) are one metric token and at
most one split token, plus optionally one `step`/`epoch` word (Lightning's `train_loss_epoch`, logged with
`on_epoch=True`; Keras's TensorBoard tags `epoch_loss`, `epoch_accuracy`): `train_loss`, `training/loss`,
`Loss/train`, `val_acc`, `validation/accuracy`, `test_acc`, `eval_accuracy`, Keras's `loss`/`val_loss`/`accuracy`.
Top-1 accuracy counts as accuracy under its usual names (`top1`, `top-1`, `acc1`, `acc@1`, `Prec@1`,
`top1_acc`: `eval_top1` is val/acc); build() reads a column of them in percent when its values reach above 1.
A name without a split (`loss`, `accuracy`, `top1`) is the train metric, as Keras logs it. `test` counts as validation
(the summary records it). When several names map onto one key the most specific wins (groklab's own name, then an
explicit split over none, `val` over `test`, no suffix over `epoch` over `step`, then the first seen); the
others keep their own names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

TARGETS = ("train/loss", "val/loss", "train/acc", "val/acc")
# Optimizer-step columns, most specific first: Lightning's (and its WandbLogger's) global step, common loop
# names, then wandb's `_step` (a count of wandb.log calls, the optimizer step only if the loop passed step=).
STEP_NAMES = ("step", "global_step", "trainer/global_step", "train/global_step", "steps", "iteration", "iter",
              "_step")
EPOCH_NAMES = ("epoch", "epochs", "train/epoch", "trainer/epoch")
# Columns every logger adds besides the metrics (wandb's clock, Lightning's lr monitor): not worth a word when they
# keep their own names.
BOOKKEEPING = ("_runtime", "_timestamp", "time", "timestamp", "runtime", "wall_time", "walltime", "elapsed",
               "lr", "learning_rate", "lr-adam", "lr-adamw", "lr-sgd", "created_at", "relative time (process)")
# Columns that name the run a row belongs to: more than one value means several runs in one file.
RUN_ID_NAMES = ("run", "run_id", "run_name", "runid", "experiment", "experiment_name")

SPLITS = {"train": "train", "training": "train", "trn": "train",
           "val": "val", "valid": "val", "validation": "val", "eval": "val", "dev": "val",
           "test": "test", "testing": "test"}
_METRICS = {"loss": "loss", "acc": "acc", "accuracy": "acc", "top1": "acc", "acc1": "acc", "acc@1": "acc",
            "prec@1": "acc"}
_TOP1 = ("top1", "acc1", "acc@1", "prec@1")
_SUFFIXES = ("", "epoch", "step")


@dataclass(frozen=True)
class Match:
    """How one source name maps: the groklab key, the source's split word and Lightning suffix."""

    target: str
    split: str | None  # "train" | "val" | "test" | None (implicit train)
    suffix: str  # "" | "epoch" | "step"

    def rank(self, name: str) -> tuple[int, int, int]:
        """Lower is more specific (see the module docstring)."""
        if name == self.target:
            return (-1, 0, 0)
        return (self.split is None, self.split == "test", _SUFFIXES.index(self.suffix))


def tokens(name: str) -> list[str]:
    """Lower-case words of a name; `top 1` is one word (`top-1`, `top_1`), and an accuracy word beside a top-1 word
    (`top1_acc`, `top1Accuracy`) is dropped, so that a top-1 accuracy reads as one metric."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    words = [t for t in re.split(r"[/_.\-\s]+", spaced.lower()) if t]
    joined: list[str] = []
    for word in words:
        if word == "1" and joined and joined[-1] == "top":
            joined[-1] = "top1"
        else:
            joined.append(word)
    if any(w in _TOP1 for w in joined):
        joined = [w for w in joined if w not in ("acc", "accuracy")]
    return joined


def match(name: str) -> Match | None:
    """The groklab key `name` stands for, or None."""
    words = tokens(name)
    marks = [w for w in words if w in ("epoch", "step")]
    suffix = marks[0] if len(marks) == 1 and len(words) > 1 else ""
    words = [w for w in words if w != suffix]
    metrics = [_METRICS[w] for w in words if w in _METRICS]
    splits = [SPLITS[w] for w in words if w in SPLITS]
    if len(metrics) != 1 or len(splits) > 1 or len(metrics) + len(splits) != len(words):
        return None
    split = splits[0] if splits else None
    side = "val" if split in ("val", "test") else "train"
    return Match(f"{side}/{metrics[0]}", split, suffix)


def assign(names: Iterable[str], taken: Iterable[str] = ()) -> dict[str, str]:
    """{source name: groklab key} for the names that map, at most one per key; keys in `taken` (already given
    by --map) are not assigned again."""
    best: dict[str, tuple[tuple[int, int, int], int, str]] = {}
    blocked = set(taken)
    for order, name in enumerate(names):
        m = match(name)
        if m is None or m.target in blocked:
            continue
        candidate = (m.rank(name), order, name)
        if m.target not in best or candidate < best[m.target]:
            best[m.target] = candidate
    return {name: target for target, (_, _, name) in best.items()}


def is_test(name: str) -> bool:
    m = match(name)
    return m is not None and m.split == "test"


def x_kind(name: str) -> str | None:
    """"step" or "epoch" if `name` (any case) is an x-axis column name, else None."""
    low = name.lower()
    if low in STEP_NAMES:
        return "step"
    return "epoch" if low in EPOCH_NAMES else None
