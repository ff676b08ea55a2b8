"""The training loop: one function, read it top to bottom.

It knows nothing about folders: it reports evaluations and checkpoints to a `Sink` (runs.RunDir writes them
to a run folder; MemorySink keeps them in memory). Batches are a pure function of (seed, step), so a run
resumed from a checkpoint replays exactly the batches of an uninterrupted one.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.config import OptimConfig, RunConfig, TrainConfig, validate
from groklab.losses import cross_entropy, onehot_mse, stablemax_cross_entropy
from groklab.models import build_model
from groklab.optim import build_optimizer, lr_at, set_lr
from groklab.optim.grokfast import apply_to_model, ema_filter, ma_filter
from groklab.probes.live import PROBES, probe_names
from groklab.tasks import TaskData, build_task
from groklab.tasks.mheight import violation_penalty

DTYPES = {"float16": torch.float16, "float32": torch.float32, "float64": torch.float64}
PRECISION = {"float16": 16, "float32": 32, "float64": 64}


class Sink(Protocol):
    def log(self, row: dict[str, Any]) -> None: ...
    def save(self, state: dict[str, Any], step: int, latest: bool, keep: bool) -> None: ...
    def load_latest(self) -> dict[str, Any] | None: ...


@dataclass
class MemorySink:
    """Keeps the history in memory; for tests, benchmarks and notebooks."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    latest: dict[str, Any] | None = None

    def log(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def save(self, state: dict[str, Any], step: int, latest: bool, keep: bool) -> None:
        if latest:
            self.latest = state

    def load_latest(self) -> dict[str, Any] | None:
        return None


@dataclass(frozen=True)
class Outcome:
    status: str  # completed | diverged
    steps: int  # optimizer steps done
    final: dict[str, Any]  # the last evaluation
    error: str | None = None


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from groklab.errors import ConfigError

        raise ConfigError("train.device=cuda but no CUDA device is available")
    return torch.device(name)


def eval_schedule(steps: int, every: int) -> set[int]:
    """Dense early (0..5, then about 30% apart), every `every` steps later, and the last step.

    The early points catch memorization, which can take only tens of steps; 30% spacing keeps their cost small
    (an evaluation of both splits costs several training steps).
    """
    points = set(range(0, min(steps, 5) + 1)) | set(range(every, steps + 1, every)) | {steps}
    s = 6
    while s < min(every, steps):
        points.add(s)
        s = max(s + 1, round(s * 1.3))
    return points


def checkpoint_schedule(steps: int, n: int) -> set[int]:
    """About n log-spaced steps in [1, steps] (plus 0) at which a model-only checkpoint is kept."""
    if n <= 0:
        return set()
    return {0, steps} | {int(s) for s in np.rint(np.geomspace(1, steps, n))}


def batch_indices(seed: int, step: int, n: int, batch_size: int) -> Tensor | None:
    """Indices of the minibatch for `step`: epoch-wise shuffling without replacement, as a DataLoader with
    shuffle=True does, but as a pure function of (seed, step). None means the full batch."""
    if batch_size >= n:
        return None
    per_epoch = math.ceil(n / batch_size)
    epoch, k = divmod(step, per_epoch)
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=gen)[k * batch_size : (k + 1) * batch_size]


def loss_fn(out: Tensor, y: Tensor, task: TaskData, cfg: TrainConfig, x: Tensor | None = None) -> Tensor:
    """The training objective, computed in `cfg.loss_dtype` (float64 avoids softmax saturation, papers.md §03).
    `x` (training batches only) feeds the m-height violation penalty of `train.loss=mse_violation`."""
    dtype = DTYPES[cfg.loss_dtype]
    if task.kind == "regression":
        mse = F.mse_loss(out.to(dtype).reshape(y.shape), y.to(dtype))
        if cfg.loss == "mse_violation" and x is not None and cfg.violation_weight:
            mse = mse + cfg.violation_weight * violation_penalty(out.to(dtype), x, task.meta, cfg.violation_samples)
        return mse
    if cfg.loss == "stablemax":
        return stablemax_cross_entropy(out, y, precision=PRECISION[cfg.loss_dtype])
    if cfg.loss == "mse":  # MSE to the one-hot target (Gromov 2023, Omnigrok)
        return onehot_mse(out.to(dtype), y)
    return cross_entropy(out, y, precision=PRECISION[cfg.loss_dtype])


def objective(model: nn.Module, loss: Tensor, l1: float) -> Tensor:
    if l1:
        return loss + l1 * sum(p.abs().sum() for p in model.parameters())
    return loss


def gradient_filter(cfg: OptimConfig) -> Callable[..., Any] | None:
    """Grokfast (Lee et al. 2024): g ← g + λ·EMA(g) or g + λ·MA_w(g), applied between backward and step."""
    if cfg.grokfast == "ema":
        return partial(ema_filter, alpha=cfg.grokfast_alpha, lamb=cfg.grokfast_lamb)
    if cfg.grokfast == "ma":
        return partial(ma_filter, window=cfg.grokfast_window, lamb=cfg.grokfast_lamb)
    return None


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor, task: TaskData, cfg: TrainConfig) -> dict[str, Tensor]:
    """Loss (and accuracy) over a whole split, in chunks; values stay on the device (no host sync)."""
    total, correct = torch.zeros((), dtype=torch.float64, device=x.device), torch.zeros((), device=x.device)
    for i in range(0, len(x), 8192):
        out = model(x[i : i + 8192])
        total += loss_fn(out, y[i : i + 8192], task, cfg).double() * len(out)
        if task.kind == "classification":
            correct += (out.argmax(-1) == y[i : i + 8192]).sum()
    metrics = {"loss": total / len(x)}
    if task.kind == "classification":
        metrics["acc"] = correct / len(x)
    return metrics


def measure(model: nn.Module, data: dict[str, Tensor], task: TaskData, cfg: TrainConfig) -> dict[str, float]:
    model.eval()
    row: dict[str, Tensor] = {}
    for split in ("train", "val"):
        for k, v in evaluate(model, data[f"x_{split}"], data[f"y_{split}"], task, cfg).items():
            row[f"{split}/{k}"] = v
    row["params/norm"] = torch.sqrt(sum((p.detach().double() ** 2).sum() for p in model.parameters()))
    values = torch.stack([v.double() for v in row.values()]).tolist()  # one host sync per evaluation
    metrics = dict(zip(row, values, strict=True))
    for name in probe_names(cfg.probes):
        metrics |= PROBES[name](model, data, task)
    model.train()
    return metrics


class Progress:
    """A tqdm bar on a terminal; otherwise a plain line at every 10% of the run."""

    def __init__(self, total: int, start: int, enabled: bool) -> None:
        self.total, self.bar, self.enabled, self.next_line = total, None, enabled, start
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True)

    def update(self, step: int, row: dict[str, Any]) -> None:
        text = " ".join(f"{k}={v:.4g}" for k, v in row.items() if k in ("train/loss", "train/acc", "val/acc"))
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            self.bar.set_postfix_str(text)
        elif self.enabled and step >= self.next_line:
            print(f"step {step}/{self.total} {text}", file=sys.stderr, flush=True)
            self.next_line = step + max(1, self.total // 10)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def load_init_and_masks(
    cfg: TrainConfig, model: nn.Module, init: dict[str, Tensor] | None, masks: dict[str, Tensor] | None
) -> dict[str, Tensor] | None:
    """Start from `init` (or `train.init_from`) and return the masks (or `train.mask_from`) on the model's
    device, already applied: the lottery-ticket retraining of Minegishi et al. 2023 (papers.md §10)."""
    if init is None and cfg.init_from:
        init = torch.load(cfg.init_from, weights_only=True, map_location="cpu")["model"]
    if init is not None:
        model.load_state_dict(init)
    if masks is None and cfg.mask_from:
        masks = torch.load(cfg.mask_from, weights_only=True, map_location="cpu")
    if not masks:
        return None
    params = dict(model.named_parameters())
    unknown = sorted(set(masks) - set(params))
    if unknown:
        from groklab.errors import ConfigError

        raise ConfigError(f"mask names {', '.join(unknown)} are not parameters of model")
    masks = {n: m.to(device=params[n].device, dtype=params[n].dtype) for n, m in masks.items()}
    apply_masks(model, masks)
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, Tensor]) -> None:
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        params[name].mul_(mask)


@contextmanager
def matmul_precision(cfg: TrainConfig) -> Iterator[None]:
    """`train.tf32`: let CUDA float32 matmuls use TF32 tensor cores for the duration of a run, then restore the
    process's setting (a library must not change it behind its caller's back). No effect on CPU."""
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = cfg.tf32
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def train(
    cfg: RunConfig, sink: Sink | None = None, progress: bool = False,
    init: dict[str, Tensor] | None = None, masks: dict[str, Tensor] | None = None,
) -> Outcome:
    """Train `cfg`; `init` (a state dict) replaces the initialisation and `masks` ({name: 0/1}) multiply the
    weights after every optimizer step; by default both come from `train.init_from` / `train.mask_from`."""
    validate(cfg)
    with matmul_precision(cfg.train):
        return _train(cfg, sink, progress, init, masks)


def _train(
    cfg: RunConfig, sink: Sink | None, progress: bool, init: dict[str, Tensor] | None,
    masks: dict[str, Tensor] | None,
) -> Outcome:
    sink = sink if sink is not None else MemorySink()
    task = build_task(cfg.task)
    device, dtype = resolve_device(cfg.train.device), DTYPES[cfg.train.dtype]
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, task).to(device=device, dtype=dtype)
    masks = load_init_and_masks(cfg.train, model, init, masks)
    optimizer = build_optimizer(cfg.optim, model)
    grad_filter, filter_state = gradient_filter(cfg.optim), None
    data = {k: getattr(task, k).to(device) for k in ("x_train", "y_train", "x_val", "y_val")}
    if task.kind == "regression":
        data = {k: v.to(dtype) if k.startswith("y") else v for k, v in data.items()}
    batch_size, steps = cfg.train.resolved_batch_size(task.n_train), cfg.train.steps
    evals = eval_schedule(steps, cfg.train.eval_every)
    keeps = checkpoint_schedule(steps, cfg.train.log_checkpoints)

    step, elapsed = 0, 0.0
    state = sink.load_latest()
    if state is not None:  # resume: weights, optimizer moments, RNG, step and training time
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        step, elapsed, filter_state = state["step"], state["time"], state.get("grad_filter")

    def checkpoint(latest: bool) -> None:
        full = {"model": model.state_dict(), "step": step, "time": elapsed}
        if latest:
            full |= {"optimizer": optimizer.state_dict(), "rng": torch.get_rng_state()}
            if filter_state is not None:
                full["grad_filter"] = filter_state
        sink.save(full, step, latest=latest, keep=step in keeps)

    bar = Progress(steps, step, progress)
    row: dict[str, Any] = {}
    if step == 0:
        row = {"step": 0, "time": 0.0, **measure(model, data, task, cfg.train), "lr": lr_at(cfg.optim, 0)}
        sink.log(row)
        checkpoint(latest=False)
    started = time.perf_counter() - elapsed
    while step < steps:
        lr = lr_at(cfg.optim, step)
        set_lr(optimizer, lr / cfg.optim.lr)
        idx = batch_indices(cfg.seed, step, task.n_train, batch_size)
        x, y = (data["x_train"], data["y_train"]) if idx is None else (data["x_train"][idx], data["y_train"][idx])
        loss = objective(model, loss_fn(model(x), y, task, cfg.train, x=x), cfg.optim.l1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_filter is not None:
            filter_state = apply_to_model(model, grad_filter, filter_state)
        optimizer.step()
        if masks is not None:
            apply_masks(model, masks)
        step += 1

        save_latest = step % cfg.train.checkpoint_every == 0 or step == steps
        if step in evals or save_latest or step in keeps:
            elapsed = time.perf_counter() - started
            row = {"step": step, "time": round(elapsed, 3), **measure(model, data, task, cfg.train), "lr": lr}
            bad = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
            sink.log({k: (None if k in bad else v) for k, v in row.items()})
            bar.update(step, row)
            if bad:
                bar.close()
                return Outcome("diverged", step, row, f"{', '.join(bad)} became non-finite at step {step}")
            if save_latest or step in keeps:
                checkpoint(latest=save_latest)
    bar.close()
    return Outcome("completed", step, row)
