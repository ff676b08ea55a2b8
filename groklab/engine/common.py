"""The replay contract: what every engine computes the same way, written once.

The reference loop (`engine.loop`) and the vectorised engine (`engine.vectorized`) both call these functions, so
a vectorised member cannot drift from the run it replays: the evaluation and checkpoint schedules, the minibatch
order, the training objective, the chunked evaluation of a split, the evaluation row and its divergence decision,
the checkpoint dict, the post-step constraints, and the progress output.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from groklab.config import TrainConfig, stop_conditions
from groklab.errors import ConfigError
from groklab.losses import cross_entropy, onehot_mse, stablemax_cross_entropy
from groklab.tasks import TaskData

DTYPES = {"float16": torch.float16, "float32": torch.float32, "float64": torch.float64}
PRECISION = {"float16": 16, "float32": 32, "float64": 64}
EVAL_CHUNK = 8192  # examples per forward in evaluation: the same chunks in every engine give the same float sums
FORWARD_ROWS = 512  # rows per forward of an evaluation on a CPU (forward_rows): the size of a training batch


def resolve_device(name: str) -> torch.device:
    """`auto` is cuda, else mps, else cpu; asking for a device that is not there is a ConfigError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device=cuda but no CUDA device is available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("train.device=mps but no MPS device is available")
    return torch.device(name)


# --- schedules --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    """When a run evaluates, writes `latest.pt`, keeps a model-only checkpoint and measures its probes.

    Predicates, not sets of steps: a run of 1e12 steps must not hold one entry per evaluation. Evaluations are
    dense early (0..5, then about 30% apart up to `eval_every`: memorization can take only tens of steps), every
    `eval_every` steps later, and at the last step. About `log_checkpoints` model-only checkpoints are log-spaced
    in [1, steps] (plus step 0) for later analysis (Nanda's progress measures read them).
    """

    steps: int
    eval_every: int
    checkpoint_every: int
    probe_every: int
    early: frozenset[int]
    kept: frozenset[int]

    @classmethod
    def of(cls, t: TrainConfig) -> Schedule:
        early, s = set(range(min(t.steps, 5) + 1)), 6
        while s < min(t.eval_every, t.steps):
            early.add(s)
            s = max(s + 1, round(s * 1.3))
        kept: set[int] = set()
        if t.log_checkpoints > 0:
            kept = {0, t.steps} | {int(s) for s in np.rint(np.geomspace(1, t.steps, t.log_checkpoints))}
        return cls(t.steps, t.eval_every, t.checkpoint_every, t.probe_every, frozenset(early), frozenset(kept))

    def evaluates(self, step: int) -> bool:
        return step in self.early or step % self.eval_every == 0 or step == self.steps

    def saves_latest(self, step: int) -> bool:
        return step % self.checkpoint_every == 0 or step == self.steps

    def keeps(self, step: int) -> bool:
        return step in self.kept

    def stops_at(self, step: int) -> bool:
        """Whether the loop stops after `step` to evaluate (and maybe checkpoint)."""
        return self.evaluates(step) or self.saves_latest(step) or self.keeps(step)

    def probes(self, step: int) -> bool:
        """Live probes run at step 0, the last step and every `probe_every` steps (0: at every evaluation)."""
        return self.probe_every == 0 or step % self.probe_every == 0 or step == self.steps


@dataclass(frozen=True)
class StopRule:
    """`train.stop_when`: a run ends early, as `completed`, once every condition has held at `after` consecutive
    evaluations (`train.stop_after`), so a run stops soon after its outcome is settled instead of spending a blind
    budget (`train.steps` is then the cap). Evaluations that did not measure a condition's metric (a probe measured
    every `probe_every` steps) neither extend nor break a streak, as in the detector's sustained crossings; the
    streak is part of `latest.pt`, so a resumed run stops at the same step."""

    conditions: tuple[tuple[str, str, float], ...]
    after: int

    @classmethod
    def of(cls, t: TrainConfig) -> StopRule:
        return cls(tuple(stop_conditions(t.stop_when)), t.stop_after)

    def update(self, streak: dict[str, int] | None, step: int, row: dict[str, Any]) -> dict[str, int] | None:
        """The streak after the evaluation `row` at `step`: {"held": evaluations, "from": first step} while every
        condition holds, None once one fails (or without conditions)."""
        if not self.conditions:
            return None
        values = [row.get(key) for key, _, _ in self.conditions]
        if any(v is None for v in values):
            return streak
        if all(v >= level if op == ">=" else v <= level
               for v, (_, op, level) in zip(values, self.conditions, strict=True)):
            return {"held": streak["held"] + 1, "from": streak["from"]} if streak else {"held": 1, "from": step}
        return None

    def settled(self, streak: dict[str, int] | None) -> bool:
        return streak is not None and streak["held"] >= self.after


# --- minibatch order --------------------------------------------------------------------------------------------
class BatchOrder:
    """Minibatch indices as a pure function of (seed, step): epoch-wise shuffling without replacement, as a
    DataLoader with shuffle=True does, so that a run resumed from a checkpoint replays exactly the batches of an
    uninterrupted one. One row per member; the current epoch's permutations are kept, not redrawn every step."""

    def __init__(self, seeds: Sequence[int], n: int, batch_size: int, device: torch.device | None = None) -> None:
        self.seeds, self.n, self.batch_size = list(seeds), n, batch_size
        self.device = device if device is not None else torch.device("cpu")
        self.per_epoch = math.ceil(n / batch_size)
        self.epoch, self.perms = -1, torch.empty(0, dtype=torch.long)

    @property
    def full(self) -> bool:
        return self.batch_size >= self.n

    def sizes(self) -> set[int]:
        """The batch sizes an epoch uses (its last batch can be shorter)."""
        bs = self.batch_size
        return {min(bs, self.n - k * bs) for k in range(self.per_epoch)}

    def at(self, step: int) -> Tensor | None:
        """[members, size] row indices of the minibatch of `step`; None for the full batch."""
        if self.full:
            return None
        epoch, k = divmod(step, self.per_epoch)
        if epoch != self.epoch:
            gens = [torch.Generator().manual_seed(seed * 1_000_003 + epoch) for seed in self.seeds]
            perms = torch.stack([torch.randperm(self.n, generator=g) for g in gens])
            if self.device.type == "cuda":  # uploaded once per epoch, without a host sync
                perms = perms.pin_memory().to(self.device, non_blocking=True)
            self.perms, self.epoch = perms, epoch
        return self.perms[:, k * self.batch_size : (k + 1) * self.batch_size]

    def keep(self, rows: list[int]) -> None:
        """Keep only the members at `rows` (a diverged member leaves its group)."""
        self.seeds = [self.seeds[i] for i in rows]
        if self.epoch >= 0:
            self.perms = self.perms[torch.tensor(rows, dtype=torch.long, device=self.perms.device)]


# --- objective and evaluation -----------------------------------------------------------------------------------
def loss_fn(out: Tensor, y: Tensor, task: TaskData, cfg: TrainConfig) -> Tensor:
    """The mean training loss, computed in `cfg.loss_dtype` (float64 avoids softmax saturation, papers.md §03)."""
    dtype = DTYPES[cfg.loss_dtype]
    if task.kind == "regression":
        return F.mse_loss(out.to(dtype).reshape(y.shape), y.to(dtype))
    if cfg.loss == "stablemax":
        return stablemax_cross_entropy(out, y, precision=PRECISION[cfg.loss_dtype])
    if cfg.loss == "mse":  # MSE to the one-hot target (Gromov 2023, Omnigrok)
        return onehot_mse(out.to(dtype), y)
    return cross_entropy(out, y, precision=PRECISION[cfg.loss_dtype])


def objective(out: Tensor, x: Tensor, y: Tensor, task: TaskData, cfg: TrainConfig) -> Tensor:
    """What a training step minimises: the loss plus the task's own penalty where it has one (the m-height
    violation term: TaskData.penalty). The L1 term depends on the parameters and is added by the engine."""
    loss = loss_fn(out, y, task, cfg)
    if task.penalty is not None:
        extra = task.penalty(out, x, cfg)
        if extra is not None:
            loss = loss + extra
    return loss


def chunk_sums(out: Tensor, y: Tensor, task: TaskData, cfg: TrainConfig) -> tuple[Tensor, Tensor]:
    """(summed loss in float64, number correct) of one evaluation chunk. Correct means the arg-max class for
    classification, `task.correct` for a regression task scored by accuracy, and is 0 otherwise."""
    total = loss_fn(out, y, task, cfg).double() * out.shape[0]
    if task.kind == "classification":
        return total, (out.argmax(-1) == y).sum()
    if task.correct is not None:
        return total, task.correct(out, y).sum()
    return total, torch.zeros((), dtype=torch.long, device=out.device)


def scores_accuracy(task: TaskData) -> bool:
    return task.kind == "classification" or task.correct is not None


def evaluate_split(sums: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]], x: Tensor, y: Tensor, dim: int,
                   accuracy: bool) -> dict[str, Tensor]:
    """Mean loss (and accuracy) over a whole split, in chunks of EVAL_CHUNK examples along `dim` (0 for one
    model; 1 for stacked members, whose `sums` returns one value per member). Values stay on the device."""
    n = x.shape[dim]
    total: Any = 0
    correct: Any = 0
    for i in range(0, n, EVAL_CHUNK):
        loss, hits = sums(x.narrow(dim, i, min(EVAL_CHUNK, n - i)), y.narrow(dim, i, min(EVAL_CHUNK, n - i)))
        total, correct = total + loss, correct + hits
    metrics = {"loss": total / n}
    if accuracy:
        metrics["acc"] = correct.double() / n
    return metrics


def forward_rows(model: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """The model's output for the rows of `x`; for token inputs on a CPU, computed FORWARD_ROWS rows at a time.

    A whole chunk's activations (rows x positions x d_mlp) spill out of the CPU's caches: power2022's 4,656
    validation rows take 195 ms in one forward and 135 ms in forwards of 512 rows (one thread). The token models'
    logits are the same bit for bit either way (tests/test_cpu_speed.py, every token preset), so are the logged
    sums; a model with few outputs per row (Levi's linear student: one) takes another BLAS path for another row
    count, so inputs that are not token ids keep one forward. On a GPU one large forward is what is fast."""
    if x.device.type != "cpu" or x.is_floating_point() or x.shape[0] <= FORWARD_ROWS:
        return model(x)
    return torch.cat([model(x[i:i + FORWARD_ROWS]) for i in range(0, x.shape[0], FORWARD_ROWS)])


def splits(task: TaskData) -> dict[str, tuple[Tensor, Tensor]]:
    """Every evaluated split: train, val, then the task's extra ones (design.md "Run folder")."""
    return {"train": (task.x_train, task.y_train), "val": (task.x_val, task.y_val), **task.evals}


def evaluation_row(step: int, elapsed: float, metrics: dict[str, float], lr: float
                   ) -> tuple[dict[str, Any], str | None]:
    """The metrics.jsonl line of an evaluation and, if a value is NaN or inf, the divergence error: the value is
    logged as null and the run ends with status `diverged` (a run never trains on from a broken state)."""
    row = {"step": step, "time": round(elapsed, 3), **metrics, "lr": lr}
    bad = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
    if not bad:
        return row, None
    return {k: (None if k in bad else v) for k, v in row.items()}, f"{', '.join(bad)} became non-finite at step {step}"


def better(metric: str, value: float | None, best: float | None) -> bool:
    """`train.keep_best`: accuracies are maximised, every other metric (losses) minimised."""
    if value is None:
        return False
    if best is None:
        return True
    return value > best if metric.rsplit("/", 1)[-1].startswith("acc") else value < best


# --- checkpoints and constraints --------------------------------------------------------------------------------
def checkpoint_state(model: dict[str, Tensor], step: int, elapsed: float, optimizer: dict[str, Any] | None = None,
                     rng: Tensor | None = None, grad_filter: dict[str, Any] | None = None,
                     best: dict[str, Any] | None = None) -> dict[str, Any]:
    """The checkpoint dict every engine writes (design.md): a model-only one, or with `optimizer` the full state
    that `latest.pt` holds and a resume needs."""
    state: dict[str, Any] = {"model": model, "step": step, "time": elapsed}
    if optimizer is not None:
        state |= {"optimizer": optimizer, "rng": rng}
        if grad_filter is not None:
            state["grad_filter"] = grad_filter
        if best is not None:
            state["best"] = best
    return state


@torch.no_grad()
def constrain_(params: dict[str, Tensor], masks: dict[str, Tensor] | None, norm: Tensor | float | None) -> None:
    """What holds after every step, on stacked parameters [M, ...]: the ticket's masks (Minegishi 2023, papers.md
    §10) and, with a `norm` (a float > 0, or one per member), Omnigrok's fixed weight norm."""
    if masks is not None:
        for name, mask in masks.items():
            params[name].mul_(mask)
    if norm is not None and (isinstance(norm, Tensor) or norm > 0):
        fix_norm_(list(params.values()), norm)


@torch.no_grad()
def fix_norm_(params: Sequence[Tensor], target: Tensor | float) -> None:
    """Rescale stacked parameters [M, ...] so that each member's global L2 norm is `target` (Omnigrok's
    constrained runs, Liu, Michaud, Tegmark 2023 §3: the weight norm is held fixed after every step)."""
    squares: Any = 0
    for p in params:
        squares = squares + p.double().pow(2).flatten(1).sum(1)
    scale = target / squares.sqrt()
    for p in params:
        p.mul_(scale.to(p.dtype).reshape(-1, *([1] * (p.dim() - 1))))


def global_norm(params: Sequence[Tensor]) -> Tensor:
    """Per-member total L2 norm of stacked parameters [M, ...], in float64."""
    squares: Any = 0
    for p in params:
        squares = squares + p.detach().double().pow(2).flatten(1).sum(1)
    return squares.sqrt()


# --- progress ---------------------------------------------------------------------------------------------------
SHOWN = ("train/loss", "train/acc", "val/loss", "val/acc")


class Progress:
    """A tqdm bar on a terminal; otherwise a line at every 10% of the run. With several members it shows their
    median and how many are still training."""

    def __init__(self, total: int, start: int, enabled: bool) -> None:
        self.total, self.bar, self.enabled, self.next_line = total, None, enabled, start
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True)

    def update(self, step: int, rows: Sequence[dict[str, Any]], alive: int) -> None:
        if not self.enabled:
            return
        text = _describe(rows, alive)
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            self.bar.set_postfix_str(text)
        elif step >= self.next_line:
            print(f"step {step}/{self.total} {text}", file=sys.stderr, flush=True)
            self.next_line = step + max(1, self.total // 10)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _describe(rows: Sequence[dict[str, Any]], alive: int) -> str:
    parts = []
    for key in SHOWN:
        values = [r[key] for r in rows if isinstance(r.get(key), float)]
        if values:
            parts.append(f"{key}={float(np.median(values)):.4g}")
    if len(rows) > 1:
        parts.insert(0, f"median of {alive} members:" if alive == len(rows) else
                     f"median of {len(rows)} members ({alive} still training):")
    return " ".join(parts)
