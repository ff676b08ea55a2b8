"""The training loop, written once: read `run_loop` top to bottom.

It knows nothing about folders: each member reports its evaluations and checkpoints to a `Sink` (runs.RunDir
writes a run folder; MemorySink keeps them in memory). What one step computes belongs to a `Trainer`: `Single`
below is the reference (a plain nn.Module and torch.optim, every option of the config); the vectorised
`engine.vectorized.Group` trains stacked members and replays `Single` member by member (equality tests in
float64). Batches are a pure function of (seed, step), so a run resumed from a checkpoint replays exactly the
batches of an uninterrupted one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from groklab.config import OptimConfig, RunConfig, TrainConfig
from groklab.engine.common import (
    DTYPES,
    BatchOrder,
    Progress,
    Schedule,
    StopRule,
    better,
    checkpoint_state,
    chunk_sums,
    constrain_,
    evaluate_split,
    evaluation_row,
    forward_rows,
    global_norm,
    objective,
    scores_accuracy,
    splits,
)
from groklab.errors import ConfigError
from groklab.io import load_tensors
from groklab.models import build_model
from groklab.optim import build_optimizer, lr_at, set_lr
from groklab.optim.grokfast import apply_to_model, ema_filter, ma_filter
from groklab.probes.live import PROBES, probe_names
from groklab.tasks import TaskData


class Sink(Protocol):
    def log(self, row: dict[str, Any]) -> None: ...
    def save(self, state: dict[str, Any], step: int, latest: bool, keep: bool) -> None: ...
    def save_best(self, state: dict[str, Any], best: dict[str, Any]) -> None: ...
    def load_latest(self) -> dict[str, Any] | None: ...


@dataclass
class MemorySink:
    """Keeps the history in memory; for tests, benchmarks and notebooks."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    latest: dict[str, Any] | None = None
    best: dict[str, Any] | None = None

    def log(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def save(self, state: dict[str, Any], step: int, latest: bool, keep: bool) -> None:
        if latest:
            self.latest = state

    def save_best(self, state: dict[str, Any], best: dict[str, Any]) -> None:
        self.best = best

    def load_latest(self) -> dict[str, Any] | None:
        return None


@dataclass(frozen=True)
class Outcome:
    status: str  # completed | diverged
    steps: int  # optimizer steps done
    final: dict[str, Any]  # the last evaluation
    error: str | None = None
    stopped: dict[str, Any] | None = None  # train.stop_when ended it early: the rule and the steps it held over


class Trainer(Protocol):
    """What a step computes, for `size` members at once (1 for the reference)."""

    size: int

    def train_step(self, step: int) -> None: ...  # one optimizer step of every live member: step -> step + 1
    def measure(self, step: int, probes: bool) -> list[dict[str, float]]: ...  # one row of metrics per member
    def state(self, i: int, step: int, elapsed: float, latest: bool) -> dict[str, Any]: ...  # a checkpoint dict
    def keep(self, rows: list[int]) -> None: ...  # only these members train on (the others diverged)


@dataclass
class Member:
    """One run's bookkeeping in the loop: its config, its sink, when its training clock started, its outcome."""

    cfg: RunConfig
    sink: Sink
    resumed: float = 0.0  # seconds of training before this process (0 for a fresh run)
    best: dict[str, Any] | None = None  # train.keep_best: the best evaluation so far
    streak: dict[str, int] | None = None  # train.stop_when: how long it has held (StopRule.update)
    started: float = 0.0  # perf_counter() at which this member's training time would have been 0
    outcome: Outcome | None = None

    @classmethod
    def of(cls, cfg: RunConfig, sink: Sink, state: dict[str, Any] | None) -> Member:
        if state is None:
            return cls(cfg, sink)
        return cls(cfg, sink, resumed=state["time"], best=state.get("best"), streak=state.get("stop"))

    def stopping(self, step: int, row: dict[str, Any]) -> dict[str, Any] | None:
        """Update the `train.stop_when` streak with this evaluation; what summary.json records when it settles
        the run (None while it trains on)."""
        rule = StopRule.of(self.cfg.train)
        self.streak = rule.update(self.streak, step, row)
        if not rule.settled(self.streak):
            return None
        assert self.streak is not None
        return {"when": self.cfg.train.stop_when, "after": rule.after, "from_step": self.streak["from"],
                "step": step}


def run_loop(trainer: Trainer, members: list[Member], start: int, schedule: Schedule, progress: Progress) -> None:
    """Train every member from `start` to `schedule.steps`; each member's Outcome is set on it."""
    live = list(members)
    for m in live:  # what a run that has nothing left to do returns
        m.outcome = Outcome("completed", start, {})
    # 1. The state before training: an evaluation and a model-only checkpoint (a fresh run only).
    if start == 0:
        live = _record(trainer, live, 0, schedule, progress)
    for m in live:
        m.started = time.perf_counter() - m.resumed
    step = start
    while step < schedule.steps and live:
        # 2. One optimizer step of every live member.
        trainer.train_step(step)
        step += 1
        # 3. At scheduled steps: evaluate, log, end the diverged, checkpoint.
        if schedule.stops_at(step):
            live = _record(trainer, live, step, schedule, progress)
    progress.close()


def _record(trainer: Trainer, live: list[Member], step: int, schedule: Schedule, progress: Progress) -> list[Member]:
    """Evaluate every live member at `step`, log its row and write its checkpoints; return the members that go on
    (a non-finite value ends a member with status `diverged`, a settled `train.stop_when` as `completed` after a
    last checkpoint; the others train on unchanged)."""
    rows = trainer.measure(step, schedule.probes(step))
    now, alive = time.perf_counter(), []
    for i, (m, metrics) in enumerate(zip(live, rows, strict=True)):
        elapsed = now - m.started if step else 0.0
        row, error = evaluation_row(step, elapsed, metrics, lr_at(m.cfg.optim, max(step - 1, 0)))
        m.sink.log(row)
        stopped = None if error else m.stopping(step, row)
        m.outcome = Outcome("diverged" if error else "completed", step, row, error, stopped)
        if error:
            continue
        if stopped is None:
            alive.append(i)
        metric = m.cfg.train.keep_best
        if metric and better(metric, row.get(metric), (m.best or {}).get("value")):
            m.best = {"metric": metric, "step": step, "value": row[metric]}
            m.sink.save_best(trainer.state(i, step, elapsed, latest=False), m.best)
        latest = (schedule.saves_latest(step) or stopped is not None) and step > 0  # a stopped run's last state
        keep = schedule.keeps(step) or (stopped is not None and bool(schedule.kept))  # its last model, as at the end
        if latest or keep:
            state = trainer.state(i, step, elapsed, latest=latest)
            if latest:
                state |= {k: v for k, v in (("best", m.best), ("stop", m.streak)) if v is not None}
            m.sink.save(state, step, latest=latest, keep=keep)
    if len(alive) < len(live):
        trainer.keep(alive)
    progress.update(step, rows, len(alive))
    return [live[i] for i in alive]


def gradient_filter(cfg: OptimConfig) -> Callable[..., Any] | None:
    """Grokfast (Lee et al. 2024): g <- g + lambda EMA(g) or g + lambda MA_w(g), between backward and step."""
    if cfg.grokfast == "ema":
        return partial(ema_filter, alpha=cfg.grokfast_alpha, lamb=cfg.grokfast_lamb)
    if cfg.grokfast == "ma":
        return partial(ma_filter, window=cfg.grokfast_window, lamb=cfg.grokfast_lamb)
    return None


def load_init_and_masks(cfg: TrainConfig, model: nn.Module, init: dict[str, Tensor] | None,
                        masks: dict[str, Tensor] | None) -> dict[str, Tensor] | None:
    """Start from `init` (or `train.init_from`) and return the masks (or `train.mask_from`) on the model's
    device: the lottery-ticket retraining of Minegishi et al. 2023 (papers.md §10)."""
    if init is None and cfg.init_from:
        init = load_tensors(cfg.init_from, "train.init_from checkpoint")["model"]
    if init is not None:
        model.load_state_dict(init)
    if masks is None and cfg.mask_from:
        masks = load_tensors(cfg.mask_from, "train.mask_from mask file")
    if not masks:
        return None
    params = dict(model.named_parameters())
    unknown = sorted(set(masks) - set(params))
    if unknown:
        raise ConfigError(f"mask names {', '.join(unknown)} are not parameters of the model")
    return {n: m.to(device=params[n].device, dtype=params[n].dtype) for n, m in masks.items()}


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


def task_tensors(task: TaskData, device: torch.device, dtype: torch.dtype) -> dict[str, tuple[Tensor, Tensor]]:
    """Every split on the device; regression targets in the parameters' dtype."""
    out = {}
    for name, (x, y) in splits(task).items():
        x = x.to(device) if not x.is_floating_point() else x.to(device=device, dtype=dtype)
        y = y.to(device) if not y.is_floating_point() else y.to(device=device, dtype=dtype)
        out[name] = (x, y)
    return out


def probe_data(data: dict[str, tuple[Tensor, Tensor]]) -> dict[str, Tensor]:
    """The flat dict live probes read: x_train, y_train, x_val, y_val, and x_<split>, y_<split> of extra splits."""
    return {f"{xy}_{name}": t for name, pair in data.items() for xy, t in zip("xy", pair, strict=True)}


class Single:
    """The reference step: one nn.Module and its torch.optim optimizer, every option of the config."""

    size = 1

    def __init__(self, cfg: RunConfig, task: TaskData, device: torch.device, state: dict[str, Any] | None,
                 init: dict[str, Tensor] | None = None, masks: dict[str, Tensor] | None = None) -> None:
        self.cfg, self.task = cfg, task
        dtype = DTYPES[cfg.train.dtype]
        torch.manual_seed(cfg.seed)
        self.model = build_model(cfg.model, task).to(device=device, dtype=dtype)
        masks = load_init_and_masks(cfg.train, self.model, init, masks)
        self.params = list(self.model.parameters())
        # the parameters and masks as groups of one member ([1, ...] views), the layout constrain_ works on
        self.stacked = {n: p.unsqueeze(0) for n, p in self.model.named_parameters()}
        self.masks = {n: m.unsqueeze(0) for n, m in masks.items()} if masks is not None else None
        constrain_(self.stacked, self.masks, cfg.train.fixed_norm)  # a ticket starts masked, a fixed norm on it
        self.optimizer = build_optimizer(cfg.optim, self.model)
        self.grad_filter, self.filter_state = gradient_filter(cfg.optim), None
        self.data = task_tensors(task, device, dtype)
        self.order = BatchOrder([cfg.seed], task.n_train, cfg.train.resolved_batch_size(task.n_train), device)
        if state is not None:  # resume: weights, optimizer moments, RNG and filter state
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["rng"])
            self.filter_state = state.get("grad_filter")

    def train_step(self, step: int) -> None:
        cfg = self.cfg
        set_lr(self.optimizer, lr_at(cfg.optim, step) / cfg.optim.lr)
        x, y = self.data["train"]
        idx = self.order.at(step)
        if idx is not None:
            x, y = x[idx[0]], y[idx[0]]
        loss = objective(self.model(x), x, y, self.task, cfg.train)
        if cfg.optim.l1:
            loss = loss + cfg.optim.l1 * sum(p.abs().sum() for p in self.params)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.optim.clip_grad_norm:  # GPT-2 recipes clip the global gradient norm (Wang et al. 2024: 1.0)
            torch.nn.utils.clip_grad_norm_(self.params, cfg.optim.clip_grad_norm)
        if self.grad_filter is not None:
            self.filter_state = apply_to_model(self.model, self.grad_filter, self.filter_state)
        self.optimizer.step()
        constrain_(self.stacked, self.masks, self.cfg.train.fixed_norm)

    @torch.no_grad()
    def measure(self, step: int, probes: bool) -> list[dict[str, float]]:
        self.model.eval()
        cols: dict[str, Tensor] = {}
        accuracy = scores_accuracy(self.task)
        for name, (x, y) in self.data.items():
            def sums(xc: Tensor, yc: Tensor) -> tuple[Tensor, Tensor]:
                return chunk_sums(forward_rows(self.model, xc), yc, self.task, self.cfg.train)

            for k, v in evaluate_split(sums, x, y, 0, accuracy).items():
                cols[f"{name}/{k}"] = v
        cols["params/norm"] = global_norm(list(self.stacked.values()))[0]
        metrics = dict(zip(cols, torch.stack([v.double() for v in cols.values()]).tolist(), strict=True))
        if probes:  # one host sync above; probes are the task's or the user's extra measurements
            for name in probe_names(self.cfg.train.probes):
                metrics |= PROBES[name](self.model, probe_data(self.data), self.task, self.cfg.probe)
        self.model.train()
        return [metrics]

    def state(self, i: int, step: int, elapsed: float, latest: bool) -> dict[str, Any]:
        if not latest:
            return checkpoint_state(self.model.state_dict(), step, elapsed)
        return checkpoint_state(self.model.state_dict(), step, elapsed, self.optimizer.state_dict(),
                                torch.get_rng_state(), self.filter_state)

    def keep(self, rows: list[int]) -> None:
        """A single run that diverged simply stops (the loop has no live member left)."""
