"""Many runs in one process: members whose models have the same shapes train together with torch.func.

Why: the models are tiny, so one run leaves the device idle; stacking M members (`stack_module_state`) and
mapping one functional forward over them (`vmap(functional_call)`) turns M small matmuls into one batched one.
`train.train` stays the reference: every member replays its loop step for step and writes the same rows,
summary and checkpoints to its own Sink (a runs.RunDir), so a member's folder is a plain run folder.

The pitfalls of ecosystem.md §3.3, and what is done about them here:
1. Loss reduction: the per-member losses are *summed* before backward, so each member's gradient is that of a
   solo run (averaging would scale it by 1/M).
2. No cross-member reductions: norms, accuracy, divergence and the end of a member are computed per member
   along dim 0; a diverged member leaves the group, the others go on.
3. Per-member hyper-parameters: `groklab.vec_optim.VecAdam` holds lr, weight decay, betas, eps, warm-up,
   Grokfast-EMA and L1 coefficients as [M] tensors.
4. Randomness: nothing random runs inside vmap. Each member's init uses its own `torch.manual_seed(seed)` (as
   train.train does) and its minibatch order is `train.batch_indices(seed, step, ...)`, computed once per epoch.
Members with different train-set sizes (or batch sizes, step counts, model shapes, ...) cannot share a batch
tensor: they are *grouped* by `group_key` and each group trains on its own (simplest, and exact). Members that
resume from different steps form different groups too.

On CUDA there is no per-step host sync: the lr schedule and bias corrections live on the device, minibatch
indices are uploaded once per epoch, and metrics are read back once per evaluation; the whole step (gather,
forward, backward, optimizer) is captured as a CUDA graph (`GraphedStep`), and optionally compiled
(`train.compile`). The number of members per group is capped from `torch.cuda.mem_get_info`. Attention runs
through the math SDPA backend inside vmap, since the fused CPU kernel has no batching rule (it would fall back to
a Python loop over members).
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.func import functional_call, stack_module_state, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel

from groklab.config import RunConfig, validate
from groklab.models import build_model
from groklab.optim import build_optimizer, lr_at
from groklab.tasks import TaskData, build_task
from groklab.train import (
    DTYPES,
    MemorySink,
    Outcome,
    Progress,
    Sink,
    checkpoint_schedule,
    eval_schedule,
    loss_fn,
    matmul_precision,
    resolve_device,
    train,
)
from groklab.vec_optim import VecAdam

PER_MEMBER = {"seed", "name", "task.split_seed", "task.train_frac", "optim.lr", "optim.weight_decay", "optim.beta1",
              "optim.beta2", "optim.eps", "optim.warmup_steps", "optim.grokfast_alpha", "optim.grokfast_lamb",
              "optim.l1", "train.batch_size"}
EVAL_CHUNK = 8192  # examples per forward in evaluation, as train.evaluate (same chunks: same float sums)


VECTORISED_MODELS = ("power_transformer", "nanda_transformer", "gpt2_transformer", "mlp")
VECTORISED_TASKS = ("modular", "multiterm")  # token classification tasks


def unsupported(cfg: RunConfig) -> str | None:
    """Why `cfg` cannot be vectorised (None if it can): a whitelist of what the engine replays exactly, so a
    feature added to train.train later falls back to it instead of being silently ignored."""
    o, t = cfg.optim, cfg.train
    checks = [
        (o.name in ("adamw", "adam"), f"optim.name={o.name} (only adamw and adam are vectorised)"),
        (not o.orthograd, "optim.orthograd=true"),
        (o.grokfast in ("none", "ema"), f"optim.grokfast={o.grokfast} (only ema is vectorised)"),
        (o.embed_lr is None and o.embed_weight_decay is None, "optim.embed_lr/embed_weight_decay (param groups)"),
        (not t.probes.strip(), f"train.probes={t.probes}"),
        (t.loss in ("ce", "stablemax", "mse"), f"train.loss={t.loss}"),
        (not t.init_from and not t.mask_from, "train.init_from/mask_from"),
        (cfg.model.name in VECTORISED_MODELS, f"model.name={cfg.model.name}"),
        (cfg.task.name in VECTORISED_TASKS, f"task.name={cfg.task.name}"),
        (t.device in ("auto", "cpu", "cuda") and resolve_device(t.device).type in ("cpu", "cuda"),
         f"train.device={t.device}"),
    ]
    return next((why for ok, why in checks if not ok), None)


def train_one(cfg: RunConfig, sink: Sink | None = None, progress: bool = False) -> Outcome:
    """One run by the fastest path that replays train.train: on CUDA with `train.cuda_graphs`, this engine's
    captured step (a group of one member; on a GPU, launch overhead is what a tiny model's step costs);
    elsewhere train.train itself (on a CPU the plain loop is the faster one for a single run)."""
    if cfg.train.cuda_graphs and unsupported(cfg) is None and resolve_device(cfg.train.device).type == "cuda":
        return train_many([cfg], [sink if sink is not None else MemorySink()], progress=progress)[0]
    return train(cfg, sink, progress=progress)


_TASKS: dict[str, TaskData] = {}


def task_of(cfg: RunConfig) -> TaskData:
    key = json.dumps(cfg.to_dict()["task"], sort_keys=True)
    if key not in _TASKS:
        _TASKS[key] = build_task(cfg.task)
    return _TASKS[key]


def group_key(cfg: RunConfig) -> str:
    """Members with equal keys train together: same shapes, data size, schedules and numerics."""
    flat = {f"{s}.{k}" if isinstance(v, dict) else s: v for s, d in cfg.to_dict().items()
            for k, v in (d.items() if isinstance(d, dict) else [(None, d)])}
    task = task_of(cfg)
    shared = {k: v for k, v in flat.items() if k not in PER_MEMBER}
    shared |= {"n_train": task.n_train, "batch": cfg.train.resolved_batch_size(task.n_train),
               "device": str(resolve_device(cfg.train.device))}
    return json.dumps(shared, sort_keys=True, default=str)


@dataclass
class _Member:
    cfg: RunConfig
    sink: Sink
    task: TaskData
    state: dict[str, Any] | None  # the checkpoint it resumes from
    rng: Tensor | None = None  # the global RNG state a plain run holds after init (saved for compatibility)
    template: dict[str, Any] | None = None  # a fresh optimizer's state_dict (param_groups, base_lr)
    elapsed: float = 0.0
    outcome: Outcome | None = None


def train_many(cfgs: Sequence[RunConfig], sinks: Sequence[Sink] | None = None, progress: bool = False,
               max_members: int | None = None) -> list[Outcome]:
    """Train every config (all must be `unsupported(cfg) is None`); returns their Outcomes in order.

    Configs are grouped by `group_key` and by the step their checkpoint resumes from; each group trains in
    chunks of at most `max_members` (default: all on CPU, what free memory allows on CUDA).
    """
    for cfg in cfgs:
        validate(cfg)
        if (why := unsupported(cfg)) is not None:
            raise ValueError(f"{cfg.run_name} cannot be vectorised: {why}")
    sinks = list(sinks) if sinks is not None else [MemorySink() for _ in cfgs]
    members = [_Member(c, s, task_of(c), s.load_latest()) for c, s in zip(cfgs, sinks, strict=True)]
    groups: dict[tuple[str, int], list[_Member]] = {}
    for m in members:
        groups.setdefault((group_key(m.cfg), m.state["step"] if m.state else 0), []).append(m)
    for group in groups.values():
        size = max_members or capacity(group[0].cfg, group[0].task)
        for i in range(0, len(group), size):
            with matmul_precision(group[0].cfg.train):
                _train_group(group[i : i + size], progress)
    return [m.outcome for m in members]  # type: ignore[misc]


def _activation_bytes(cfg: RunConfig, task: TaskData, n: int) -> int:
    m = cfg.model
    per_token = 6 * m.d_model + 2 * m.d_mlp + 3 * m.n_heads * task.seq_len
    return n * task.seq_len * per_token * m.n_layers * 8 + n * (task.n_classes or 1) * 16


def capacity(cfg: RunConfig, task: TaskData) -> int:
    """Members per group: unbounded on CPU; on CUDA what half the free memory holds (params, grads, moments,
    and three training steps' activations: the eager warm-up's cached blocks and the private memory pools of
    the two captured batch shapes)."""
    device = resolve_device(cfg.train.device)
    if device.type != "cuda":
        return 1 << 30
    free, _ = torch.cuda.mem_get_info(device)
    model = build_model(cfg.model, task)
    n_params = sum(p.numel() for p in model.parameters())
    itemsize = torch.finfo(DTYPES[cfg.train.dtype]).bits // 8
    batch = cfg.train.resolved_batch_size(task.n_train)
    per_member = 6 * n_params * itemsize + 3 * _activation_bytes(cfg, task, batch)
    return max(1, int(0.5 * free // per_member))


def _eval_chunk(cfg: RunConfig, task: TaskData, n_members: int) -> int:
    """Members per vmapped evaluation forward, so that an evaluation over the whole split fits in memory."""
    device = resolve_device(cfg.train.device)
    budget = torch.cuda.mem_get_info(device)[0] // 4 if device.type == "cuda" else 2 << 30
    per_member = _activation_bytes(cfg, task, min(EVAL_CHUNK, max(task.n_train, len(task.x_val))))
    return max(1, min(n_members, int(budget // max(per_member, 1))))


class GraphedStep:
    """Calls `fn(key)` (a training step that reads and writes fixed tensors in place); with `enabled`, each `key`
    (a batch shape) as its own CUDA graph.

    Why: a vectorised step is hundreds of small kernels, and on a GPU the Python and launch overhead of issuing
    them (vmap's batching rules, functional_call, the optimizer's foreach ops) costs far more than the kernels.
    Captured once, the whole step replays as one launch. As torch's CUDA-graph recipe asks, the first `warmup`
    calls of a key run eagerly on a side stream (they are real steps: lazy initialisation of cuBLAS handles,
    autograd and the allocator happens there), the next call captures and replays, later calls only replay. A
    capture bakes in the addresses of the tensors it reads, so `fn` must update its state in place, and `reset()`
    must be called when those tensors are replaced (a member leaving the group).
    """

    def __init__(self, fn: Callable[[int], None], enabled: bool, warmup: int = 2) -> None:
        self.fn, self.enabled, self.warmup = fn, enabled, warmup
        self.calls: dict[int, int] = {}
        self.graphs: dict[int, Any] = {}
        self.captured = 0  # how many captures were made (tests, benchmarks)

    def reset(self) -> None:
        self.calls, self.graphs = {}, {}

    def __call__(self, key: int) -> None:
        if not self.enabled:
            self.fn(key)
        elif key in self.graphs:
            self.graphs[key].replay()
        elif self.calls.get(key, 0) < self.warmup:
            self.calls[key] = self.calls.get(key, 0) + 1
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.fn(key)
            torch.cuda.current_stream().wait_stream(side)
        else:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self.fn(key)
            self.graphs[key], self.captured = graph, self.captured + 1
            graph.replay()


def _train_group(members: list[_Member], progress: bool) -> None:
    cfg0, task0 = members[0].cfg, members[0].task
    device, dtype = resolve_device(cfg0.train.device), DTYPES[cfg0.train.dtype]
    models = []
    for m in members:  # each member's init exactly as train.train builds it
        torch.manual_seed(m.cfg.seed)
        model = build_model(m.cfg.model, m.task).to(device=device, dtype=dtype)
        m.rng, m.template = torch.get_rng_state(), build_optimizer(m.cfg.optim, model).state_dict()
        if m.state is not None:
            model.load_state_dict(m.state["model"])
            m.rng, m.elapsed = m.state["rng"], m.state["time"]
        models.append(model)
    keys = list(models[0].state_dict())
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    del models
    start = members[0].state["step"] if members[0].state else 0
    for m in members:  # what train.train returns when there is nothing left to do
        m.outcome = Outcome("completed", start, {})
    opt = VecAdam(params, [m.cfg.optim for m in members], step=start)
    for i, m in enumerate(members):
        if m.state is not None:
            opt.load_member(i, m.state["optimizer"], m.state.get("grad_filter"))

    def stack(name: str) -> Tensor:
        return torch.stack([getattr(m.task, name) for m in members]).to(device)

    x_train, y_train, x_val, y_val = stack("x_train"), stack("y_train"), stack("x_val"), stack("y_val")
    tcfg, steps = cfg0.train, cfg0.train.steps
    n, bs = task0.n_train, cfg0.train.resolved_batch_size(task0.n_train)
    per_epoch, evals = math.ceil(n / bs), eval_schedule(steps, tcfg.eval_every)
    keeps = checkpoint_schedule(steps, tcfg.log_checkpoints)
    eval_chunk = _eval_chunk(cfg0, task0, len(members))

    def member_loss(p: dict[str, Tensor], b: dict[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
        return loss_fn(functional_call(base, (p, b), (x,)), y, task0, tcfg)

    def member_eval(p: dict[str, Tensor], b: dict[str, Tensor], x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        out = functional_call(base, (p, b), (x,))
        return loss_fn(out, y, task0, tcfg).double() * out.shape[0], (out.argmax(-1) == y).sum()

    @torch.no_grad()
    def measure() -> list[dict[str, float]]:
        """train.measure for every member; one host sync for the whole group."""
        cols: dict[str, Tensor] = {}
        for split, x, y in (("train", x_train, y_train), ("val", x_val, y_val)):
            total = torch.zeros(len(x), dtype=torch.float64, device=device)
            correct = torch.zeros(len(x), device=device)  # default dtype, as train.evaluate counts
            for i in range(0, x.shape[1], EVAL_CHUNK):
                loss, hits = vmap(member_eval, chunk_size=eval_chunk)(params, buffers, x[:, i : i + EVAL_CHUNK],
                                                                       y[:, i : i + EVAL_CHUNK])
                total += loss
                correct += hits
            cols[f"{split}/loss"], cols[f"{split}/acc"] = total / x.shape[1], correct / x.shape[1]
        squares: Any = 0
        for p in params.values():
            squares = squares + (p.detach().double() ** 2).flatten(1).sum(1)
        cols["params/norm"] = torch.sqrt(squares)
        values = torch.stack([v.double() for v in cols.values()], 1).tolist()
        return [dict(zip(cols, row, strict=True)) for row in values]

    def checkpoint(step: int, latest: bool) -> None:
        for i, m in enumerate(members):
            state = params | buffers
            full: dict[str, Any] = {"model": {k: state[k][i].detach().cpu().clone() for k in keys},
                                    "step": step, "time": m.elapsed}
            if latest:
                last_lr = m.cfg.optim.lr * (lr_at(m.cfg.optim, step - 1) / m.cfg.optim.lr)
                full |= {"optimizer": opt.member_state(i, m.template, last_lr), "rng": m.rng}  # type: ignore[arg-type]
                if (gf := opt.member_filter_state(i)) is not None:
                    full["grad_filter"] = gf
            m.sink.save(full, step, latest=latest, keep=step in keeps)

    rows_idx = torch.arange(len(members), device=device)[:, None]
    # this step's minibatch indices, one buffer per batch size (an epoch's last batch can be shorter)
    batch_idx = {size: torch.zeros(len(members), size, dtype=torch.long, device=device)
                 for size in ({min(bs, n - k * bs) for k in range(per_epoch)} if bs < n else set())}
    use_l1 = bool((opt.l1 != 0).any())  # decided once, so the loop has no host sync

    batched_loss = vmap(member_loss)
    if tcfg.compile and device.type == "cuda":  # fuses the elementwise work; compiled once per batch shape
        batched_loss = torch.compile(batched_loss, dynamic=False)

    def train_step(size: int) -> None:
        """One optimizer step of every member on the rows `batch_idx[size]` names (the whole split if bs >= n)."""
        if bs >= n:
            xb, yb = x_train, y_train
        else:
            xb, yb = x_train[rows_idx, batch_idx[size]], y_train[rows_idx, batch_idx[size]]
        losses = batched_loss(params, buffers, xb, yb)
        if use_l1:  # train.objective, per member
            losses = losses + opt.l1.to(losses.dtype) * sum(p.abs().flatten(1).sum(1) for p in params.values())
        for p in params.values():
            p.grad = None
        losses.sum().backward()  # summed, never averaged: each member's gradient is its solo gradient
        opt.step()

    step_fn = GraphedStep(train_step, enabled=device.type == "cuda" and tcfg.cuda_graphs)
    step, perms, epoch_of_perms = start, None, -1
    wall0 = time.perf_counter()
    started = [wall0 - m.elapsed for m in members]
    bar = Progress(steps, start, progress)
    with sdpa_kernel([SDPBackend.MATH]):
        if step == 0:
            for m, row in zip(members, measure(), strict=True):
                m.sink.log({"step": 0, "time": 0.0, **row, "lr": lr_at(m.cfg.optim, 0)})
            checkpoint(0, latest=False)
        while step < steps and members:
            size = n
            if bs < n:
                epoch, k = divmod(step, per_epoch)
                if epoch != epoch_of_perms:  # train.batch_indices, one epoch at a time
                    gens = [torch.Generator().manual_seed(m.cfg.seed * 1_000_003 + epoch) for m in members]
                    perms = torch.stack([torch.randperm(n, generator=g) for g in gens])
                    perms = perms.pin_memory().to(device, non_blocking=True) if device.type == "cuda" else perms
                    epoch_of_perms = epoch
                size = min(bs, n - k * bs)
                batch_idx[size].copy_(perms[:, k * bs : k * bs + size])  # type: ignore[index]
            step_fn(size)
            step += 1
            save_latest = step % tcfg.checkpoint_every == 0 or step == steps
            if step in evals or save_latest or step in keeps:
                now = time.perf_counter()
                keep = []
                for i, (m, row) in enumerate(zip(members, measure(), strict=True)):
                    m.elapsed = now - started[i]
                    row = {"step": step, "time": round(m.elapsed, 3), **row, "lr": lr_at(m.cfg.optim, step - 1)}
                    bad = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
                    m.sink.log({k: (None if k in bad else v) for k, v in row.items()})
                    if bad:
                        m.outcome = Outcome("diverged", step, row, f"{', '.join(bad)} became non-finite at step {step}")
                    else:
                        m.outcome = Outcome("completed", step, row)
                        keep.append(i)
                bar.update(step, {})
                if len(keep) < len(members):  # per-member early stop: the diverged leave the group
                    sel = torch.tensor(keep, device=device, dtype=torch.long)
                    params = {k: v[sel].detach().requires_grad_() for k, v in params.items()}
                    buffers = {k: v[sel] for k, v in buffers.items()}
                    opt.params = params
                    opt.select(sel)
                    x_train, y_train, x_val, y_val = x_train[sel], y_train[sel], x_val[sel], y_val[sel]
                    perms = perms[sel] if perms is not None else None
                    rows_idx = rows_idx[: len(keep)]
                    batch_idx = {size: b[sel] for size, b in batch_idx.items()}
                    members, started = [members[i] for i in keep], [started[i] for i in keep]
                    step_fn.reset()  # the captured step reads the old tensors: capture again
                if save_latest or step in keeps:
                    checkpoint(step, latest=save_latest)
    bar.close()
