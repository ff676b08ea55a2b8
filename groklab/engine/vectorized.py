"""Many runs in one process: members whose models have the same shapes train together with torch.func.

Why: the models are tiny, so one run leaves the device idle; stacking M members (`stack_module_state`) and
mapping one functional forward over them (`vmap(functional_call)`) turns M small matmuls into one batched one.
`Group` is a Trainer of `engine.loop.run_loop`: the loop, the schedules, the rows, the divergence rule and the
checkpoints are the reference loop's own, and every member replays `engine.loop.Single` step for step (float64
equality tests), so a member's folder is a plain run folder.

The pitfalls of ecosystem.md §3.3, and what is done about them here:
1. Loss reduction: the per-member losses are *summed* before backward, so each member's gradient is that of a
   solo run (averaging would scale it by 1/M).
2. No cross-member reductions: norms, accuracy, divergence and the end of a member are computed per member
   along dim 0; a diverged member leaves the group, the others go on.
3. Per-member hyper-parameters: `groklab.optim.vectorized.VecOptimizer` (Adam, AdamW, SGD) holds lr, weight decay,
   betas, eps, momentum, warm-up, Grokfast-EMA and L1 coefficients as [M] tensors.
4. Randomness: nothing random runs inside vmap. Each member's init uses its own `torch.manual_seed(seed)` (as
   Single does) and its minibatch order is the shared `BatchOrder`.
On CUDA there is no per-step host sync: the lr schedule and bias corrections live on the device, minibatch
indices are uploaded once per step into fixed buffers, metrics are read back once per evaluation, and the whole
step is captured as a CUDA graph (`engine.graphs.GraphedStep`), optionally compiled (`train.compile`). Attention
runs through the math SDPA backend inside vmap, since the fused CPU kernel has no batching rule.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor
from torch.func import functional_call, stack_module_state, vmap

from groklab.config import RunConfig
from groklab.engine.common import (
    DTYPES,
    BatchOrder,
    checkpoint_state,
    chunk_sums,
    constrain_,
    evaluate_split,
    global_norm,
    objective,
    scores_accuracy,
)
from groklab.engine.graphs import GraphedStep, eval_chunk
from groklab.engine.loop import load_init_and_masks, probe_data, task_tensors
from groklab.models import build_model
from groklab.optim import build_optimizer, lr_at, roles
from groklab.optim.vectorized import VecOptimizer
from groklab.probes.live import PROBES, probe_names
from groklab.tasks import TaskData


def stack_masks(masks: list[dict[str, Tensor] | None], params: dict[str, Tensor]) -> dict[str, Tensor] | None:
    """The members' masks stacked [M, ...] (None when no member has one). A member without a mask for a parameter
    keeps all of it (ones: multiplying by 1 is exact), so a ticket and its dense controls train in one group."""
    names = sorted({name for m in masks if m for name in m})
    if not names:
        return None
    return {n: torch.stack([m[n] if m and n in m else torch.ones_like(params[n][i]) for i, m in enumerate(masks)])
            for n in names}


class Group:
    """Members with equal `group_key`s, from the same step, trained as one: parameters stacked [M, ...]."""

    def __init__(self, cfgs: list[RunConfig], tasks: list[TaskData], device: torch.device,
                 states: list[dict[str, Any] | None], start: int) -> None:
        self.cfgs, self.task, self.device = list(cfgs), tasks[0], device
        self.tcfg = cfgs[0].train
        dtype = DTYPES[self.tcfg.dtype]
        models, masks = [], []
        self.rngs: list[Tensor] = []  # the global RNG state a plain run holds after init (saved for compatibility)
        self.templates: list[dict[str, Any]] = []  # fresh optimizers' state_dicts (param_groups, base_lr)
        for cfg, task, state in zip(cfgs, tasks, states, strict=True):  # each init exactly as Single builds it
            torch.manual_seed(cfg.seed)
            model = build_model(cfg.model, task).to(device=device, dtype=dtype)
            masks.append(load_init_and_masks(cfg.train, model, None, None))
            self.rngs.append(torch.get_rng_state())
            self.templates.append(build_optimizer(cfg.optim, model).state_dict())
            if state is not None:
                model.load_state_dict(state["model"])
                self.rngs[-1] = state["rng"]
            models.append(model)
        self.keys = list(models[0].state_dict())
        names = {id(p): n for n, p in models[0].named_parameters()}  # the plain optimizer's parameter order
        order = [names[id(p)] for g in build_optimizer(cfgs[0].optim, models[0]).param_groups for p in g["params"]]
        self.params, self.buffers = stack_module_state(models)
        self.masks = stack_masks(masks, self.params)
        norms = [c.train.fixed_norm for c in cfgs]  # all 0 (off) or all > 0 (group_key)
        self.norm = torch.tensor(norms, dtype=torch.float64, device=device) if norms[0] else None
        constrain_(self.params, self.masks, self.norm)
        self.base = copy.deepcopy(models[0]).to("meta")  # the functional template
        self.scratch = models[0] if probe_names(self.tcfg.probes) else None  # a real module for live probes
        del models
        self.opt = VecOptimizer(self.params, [c.optim for c in cfgs], order, step=start,
                                roles=roles(cfgs[0].optim, self.base))
        for i, state in enumerate(states):
            if state is not None:
                self.opt.load_member(i, state["optimizer"], state.get("grad_filter"))
        each = [task_tensors(t, device, dtype) for t in tasks]
        self.data = {name: (torch.stack([d[name][0] for d in each]), torch.stack([d[name][1] for d in each]))
                     for name in each[0]}
        self.order = BatchOrder([c.seed for c in cfgs], self.task.n_train,
                                self.tcfg.resolved_batch_size(self.task.n_train), device)
        self.eval_chunk = eval_chunk(cfgs[0], self.task, len(cfgs), device)
        self._step_buffers()
        task, tcfg, base = self.task, self.tcfg, self.base

        def member_loss(p: dict[str, Tensor], b: dict[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
            return objective(functional_call(base, (p, b), (x,)), x, y, task, tcfg)

        self.batched_loss = vmap(member_loss)
        if tcfg.compile and device.type == "cuda":  # fuses the elementwise work; compiled once per batch shape
            self.batched_loss = torch.compile(self.batched_loss, dynamic=False)
        self.step_fn = GraphedStep(self._step, enabled=device.type == "cuda" and tcfg.cuda_graphs)

    @property
    def size(self) -> int:
        return len(self.cfgs)

    # --- the training step -------------------------------------------------------------------------------------
    def _step_buffers(self) -> None:
        """The fixed tensors a (captured) step reads: row numbers, one index buffer per batch size."""
        self.rows_idx = torch.arange(self.size, device=self.device)[:, None]
        self.batch_idx = {size: torch.zeros(self.size, size, dtype=torch.long, device=self.device)
                          for size in (set() if self.order.full else self.order.sizes())}
        self.use_l1 = bool((self.opt.l1 != 0).any())  # decided once, so the step has no host sync

    def train_step(self, step: int) -> None:
        idx = self.order.at(step)
        size = self.task.n_train
        if idx is not None:
            size = idx.shape[1]
            self.batch_idx[size].copy_(idx)
        self.step_fn(size)

    def _step(self, size: int) -> None:
        """One optimizer step of every member on the rows `batch_idx[size]` names (the whole split if full)."""
        x, y = self.data["train"]
        if not self.order.full:
            x, y = x[self.rows_idx, self.batch_idx[size]], y[self.rows_idx, self.batch_idx[size]]
        losses = self.batched_loss(self.params, self.buffers, x, y)
        if self.use_l1:  # the L1 term of Single.train_step, per member
            losses = losses + self.opt.l1.to(losses.dtype) * sum(p.abs().flatten(1).sum(1)
                                                                  for p in self.params.values())
        for p in self.params.values():
            p.grad = None
        losses.sum().backward()  # summed, never averaged: each member's gradient is its solo gradient
        self.opt.step()
        constrain_(self.params, self.masks, self.norm)

    # --- evaluation, checkpoints, members leaving --------------------------------------------------------------
    @torch.no_grad()
    def measure(self, step: int, probes: bool) -> list[dict[str, float]]:
        """Single.measure for every member; one host sync for the whole group."""
        task, tcfg, base = self.task, self.tcfg, self.base

        def member_sums(p: dict[str, Tensor], b: dict[str, Tensor], x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
            return chunk_sums(functional_call(base, (p, b), (x,)), y, task, tcfg)

        batched = vmap(member_sums, chunk_size=self.eval_chunk)
        cols: dict[str, Tensor] = {}
        for name, (x, y) in self.data.items():
            for k, v in evaluate_split(lambda xc, yc: batched(self.params, self.buffers, xc, yc), x, y, 1,
                                       scores_accuracy(task)).items():
                cols[f"{name}/{k}"] = v
        cols["params/norm"] = global_norm(list(self.params.values()))
        values = torch.stack([v.double() for v in cols.values()], 1).tolist()
        rows = [dict(zip(cols, row, strict=True)) for row in values]
        if probes and self.scratch is not None:
            for i, row in enumerate(rows):
                row |= self._probe(i)
        return rows

    def _probe(self, i: int) -> dict[str, float]:
        """Member i's live probes, on a real module holding its parameters."""
        model = self.scratch
        assert model is not None
        model.load_state_dict(self.member_model(i))
        model.eval()
        data = probe_data({name: (x[i], y[i]) for name, (x, y) in self.data.items()})
        out: dict[str, float] = {}
        for name in probe_names(self.tcfg.probes):
            out |= PROBES[name](model, data, self.task, self.cfgs[i].probe)
        return out

    def member_model(self, i: int) -> dict[str, Tensor]:
        state = self.params | self.buffers
        return {k: state[k][i].detach().clone() for k in self.keys}

    def state(self, i: int, step: int, elapsed: float, latest: bool) -> dict[str, Any]:
        model = {k: v.cpu() for k, v in self.member_model(i).items()}
        if not latest:
            return checkpoint_state(model, step, elapsed)
        optim = self.cfgs[i].optim
        factor = lr_at(optim, step - 1) / optim.lr  # the warm-up factor `set_lr` left in the plain optimizer
        return checkpoint_state(model, step, elapsed, self.opt.member_state(i, self.templates[i], factor),
                                self.rngs[i], self.opt.member_filter_state(i))

    def keep(self, rows: list[int]) -> None:
        """Per-member early stop: the diverged leave the group, the rest train on unchanged."""
        sel = torch.tensor(rows, device=self.device, dtype=torch.long)
        self.params = {k: v[sel].detach().requires_grad_() for k, v in self.params.items()}
        self.buffers = {k: v[sel] for k, v in self.buffers.items()}
        self.masks = {k: v[sel] for k, v in self.masks.items()} if self.masks is not None else None
        self.norm = self.norm[sel] if self.norm is not None else None
        self.opt.params = self.params
        self.opt.select(sel)
        self.data = {name: (x[sel], y[sel]) for name, (x, y) in self.data.items()}
        self.order.keep(rows)
        self.cfgs = [self.cfgs[i] for i in rows]
        self.rngs = [self.rngs[i] for i in rows]
        self.templates = [self.templates[i] for i in rows]
        self._step_buffers()
        self.step_fn.reset()  # the captured step reads the old tensors: capture again
