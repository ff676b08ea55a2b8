"""A vectorised Adam/AdamW over stacked parameters [M, ...], one set of hyper-parameters per member.

Why not torch.optim.AdamW on the stacked tensors: its lr, betas, eps and weight_decay are scalars shared by every
tensor, so a weight-decay sweep in one vmap cannot use it (ecosystem.md §3.3, pitfall 3). Here every
hyper-parameter is a float64 tensor of shape [M], broadcast as [M, 1, ...] against each stacked parameter, and the
update replays `torch.optim.adam._single_tensor_adam` (the path torch takes on CPU) operation for operation:
scalar coefficients are formed in float64 as Python would form them, then cast to the parameter dtype, so a
float64 run matches the plain optimizer to rounding and a float32 run within float32 tolerance.

The warm-up schedule (`optim.lr_at`, scaled through `set_lr`) and the bias corrections are computed on the device
from a step counter tensor: no per-step host sync or host-to-device copy (ecosystem.md §3.3 on CUDA), and all
state (moments, the step counter, the Grokfast EMA) is updated in place, so a CUDA graph can capture `step`.
Grokfast-EMA (elementwise, so it vectorises for free, §3.3 pitfall 3) is applied in front of the update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from groklab.config import OptimConfig


def _cols(v: Tensor, like: list[Tensor]) -> list[Tensor]:
    """[M] -> one [M, 1, ..., 1] view per tensor of `like`, in its dtype (the cast Python scalars get in torch's
    kernels). Built once per rank and dtype: the update then runs as a few torch._foreach ops over all tensors."""
    cache: dict[tuple[int, torch.dtype], Tensor] = {}
    out = []
    for t in like:
        key = (t.dim(), t.dtype)
        if key not in cache:
            cache[key] = v.to(t.dtype).reshape(-1, *([1] * (t.dim() - 1)))
        out.append(cache[key])
    return out


class VecAdam:
    """Adam (coupled L2, torch's Adam) or AdamW (decoupled decay), vectorised over members.

    `params` maps names to stacked leaf tensors [M, ...]; `cfgs` holds one OptimConfig per member. All members
    must share `name` ("adam" or "adamw") and the grokfast kind ("none" or "ema").
    """

    def __init__(self, params: dict[str, Tensor], cfgs: Sequence[OptimConfig], step: int = 0) -> None:
        self.params = params
        self.decoupled = cfgs[0].name == "adamw"
        self.grokfast = cfgs[0].grokfast == "ema"
        device = next(iter(params.values())).device

        def hyper(attr: str) -> Tensor:
            return torch.tensor([float(getattr(c, attr)) for c in cfgs], dtype=torch.float64, device=device)

        self.lr, self.wd, self.beta1, self.beta2 = hyper("lr"), hyper("weight_decay"), hyper("beta1"), hyper("beta2")
        self.eps, self.warmup = hyper("eps"), hyper("warmup_steps")
        self.gf_alpha, self.gf_lamb, self.l1 = hyper("grokfast_alpha"), hyper("grokfast_lamb"), hyper("l1")
        self.step_t = torch.tensor(float(step), dtype=torch.float64, device=device)
        self.exp_avg = {k: torch.zeros_like(p, memory_format=torch.preserve_format) for k, p in params.items()}
        self.exp_avg_sq = {k: torch.zeros_like(p, memory_format=torch.preserve_format) for k, p in params.items()}
        self.mu: dict[str, Tensor] | None = None  # Grokfast-EMA state, created from the first gradient

    def lr_now(self) -> Tensor:
        """lr_at(cfg, step) * (set_lr's factor), per member: what the plain loop puts in group["lr"]."""
        s = self.step_t
        warm = torch.where(s < self.warmup, self.lr * (s + 1) / self.warmup.clamp(min=1), self.lr)
        return self.lr * (warm / self.lr)

    @torch.no_grad()
    def step(self) -> None:
        """One update of every member: `_single_tensor_adam`'s operations, batched with torch._foreach_*."""
        lr = self.lr_now()
        self.step_t += 1
        bc1 = 1 - torch.pow(self.beta1, self.step_t)
        bc2_sqrt = torch.sqrt(1 - torch.pow(self.beta2, self.step_t))
        params = list(self.params.values())
        grads = [p.grad for p in params]
        if self.grokfast:  # mu <- alpha mu + (1 - alpha) g (mu starts at g); g <- g + lamb mu (as ema_filter)
            if self.mu is None:
                self.mu = {k: g.detach().clone() for k, g in zip(self.params, grads, strict=True)}
            mus = list(self.mu.values())  # updated in place: a captured CUDA graph keeps reading the same tensors
            torch._foreach_mul_(mus, _cols(self.gf_alpha, grads))
            torch._foreach_add_(mus, torch._foreach_mul(grads, _cols(1 - self.gf_alpha, grads)))
            grads = torch._foreach_add(grads, torch._foreach_mul(mus, _cols(self.gf_lamb, grads)))
        if self.decoupled:
            torch._foreach_mul_(params, _cols(1 - lr * self.wd, params))
        else:
            grads = torch._foreach_add(grads, torch._foreach_mul(_cols(self.wd, params), params))
        m, v = list(self.exp_avg.values()), list(self.exp_avg_sq.values())
        torch._foreach_lerp_(m, grads, _cols(1 - self.beta1, m))
        torch._foreach_mul_(v, _cols(self.beta2, v))
        torch._foreach_add_(v, torch._foreach_mul(torch._foreach_mul(_cols(1 - self.beta2, v), grads), grads))
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, _cols(bc2_sqrt, v))
        torch._foreach_add_(denom, _cols(self.eps, v))
        update = torch._foreach_mul(_cols(-(lr / bc1), params), m)
        torch._foreach_div_(update, denom)
        torch._foreach_add_(params, update)

    def select(self, keep: Tensor) -> None:
        """Keep only the members in `keep` (a diverged member leaves the group)."""
        for attr in ("lr", "wd", "beta1", "beta2", "eps", "warmup", "gf_alpha", "gf_lamb", "l1"):
            setattr(self, attr, getattr(self, attr)[keep])
        self.exp_avg = {k: v[keep] for k, v in self.exp_avg.items()}
        self.exp_avg_sq = {k: v[keep] for k, v in self.exp_avg_sq.items()}
        if self.mu is not None:
            self.mu = {k: v[keep] for k, v in self.mu.items()}

    # --- the plain loop's checkpoint format ---------------------------------------------------------------
    def load_member(self, i: int, optimizer_state: dict[str, Any], filter_state: dict[str, Any] | None) -> None:
        """Load member i's moments from a torch.optim state_dict (as train.train saves it)."""
        for j, k in enumerate(self.params):
            st = optimizer_state["state"][j]
            self.exp_avg[k][i].copy_(st["exp_avg"])
            self.exp_avg_sq[k][i].copy_(st["exp_avg_sq"])
        if filter_state is not None and self.grokfast:
            if self.mu is None:
                self.mu = {k: torch.zeros_like(p) for k, p in self.params.items()}
            for k in self.params:
                self.mu[k][i].copy_(filter_state["mu"][k])

    def member_state(self, i: int, template: dict[str, Any], last_lr: float) -> dict[str, Any]:
        """Member i's moments as a torch.optim.Adam/AdamW state_dict that `optimizer.load_state_dict` accepts.

        `template` is the state_dict of a freshly built optimizer of that member (param_groups with base_lr).
        """
        step = torch.tensor(float(self.step_t.item()), dtype=torch.float32)  # torch keeps `step` in float32
        state = {j: {"step": step.clone(), "exp_avg": self.exp_avg[k][i].detach().clone(),
                     "exp_avg_sq": self.exp_avg_sq[k][i].detach().clone()} for j, k in enumerate(self.params)}
        groups = [dict(g, lr=last_lr) for g in template["param_groups"]]
        return {"state": state, "param_groups": groups}

    def member_filter_state(self, i: int) -> dict[str, Any] | None:
        if self.mu is None:
            return None
        return {"mu": {k: v[i].detach().clone() for k, v in self.mu.items()}}
