"""Adam, AdamW and SGD over stacked parameters [M, ...], one set of hyper-parameters per member.

Why not torch.optim on the stacked tensors: its lr, betas, eps and weight_decay are scalars shared by every tensor,
so a weight-decay sweep in one vmap cannot use it (ecosystem.md §3.3, pitfall 3). Here every hyper-parameter is a
float64 tensor of shape [M] (per tensor where a parameter group changes it: `optim.embed_lr`,
`optim.embed_weight_decay` for W_E, `optim.no_decay`), broadcast as [M, 1, ...] against each stacked parameter, and
the update replays torch's single-tensor implementations (`_single_tensor_adam`, `_single_tensor_sgd`: the paths
torch takes on CPU) operation for operation: scalar coefficients are formed in float64 as Python would form them,
then cast to the parameter dtype, so a float64 run matches the plain optimizer to rounding and a float32 run within
float32 tolerance. In front of the update, in the reference loop's order: gradient clipping
(`optim.clip_grad_norm`, per member), Grokfast-EMA (elementwise, so it vectorises for
free) and ⊥Grad (Prieto 2025: per member and per tensor).

The warm-up schedule (`optim.lr_at`, scaled through `set_lr`) and the bias corrections are computed on the device
from a step counter tensor: no per-step host sync or host-to-device copy (ecosystem.md §3.3 on CUDA), and all
state (moments, momentum, the step counter, the Grokfast EMA) is updated in place, so a CUDA graph can capture
`step`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from groklab.optim.torch_optim import TorchOptimConfig

KINDS = ("adam", "adamw", "sgd")


def cols(vs: Tensor | Sequence[Tensor], like: Sequence[Tensor]) -> list[Tensor]:
    """[M] vectors (one for all tensors, or one per tensor) -> [M, 1, ..., 1] views in each tensor's rank and
    dtype (the cast Python scalars get in torch's kernels), each distinct (vector, rank, dtype) built once per
    call: the update then runs as a few torch._foreach ops over all tensors."""
    cache: dict[tuple[int, int, torch.dtype], Tensor] = {}  # keyed by id: the vectors are alive for this call
    out = []
    for i, t in enumerate(like):
        v = vs if isinstance(vs, Tensor) else vs[i]
        key = (id(v), t.dim(), t.dtype)
        if key not in cache:
            cache[key] = v.to(t.dtype).reshape(-1, *([1] * (t.dim() - 1)))
        out.append(cache[key])
    return out


class VecOptimizer:
    """The reference loop's optimizer (Adam with coupled L2, AdamW with decoupled decay, or SGD), vectorised over
    members. `params` maps names to stacked leaf tensors [M, ...]; `cfgs` holds one AdamConfig or SGDConfig per member
    (all of one `name`, one grokfast kind, one ⊥Grad choice); `order` is the parameter order of the plain optimizer's
    state_dict (parameter groups reorder it)."""

    def __init__(self, params: dict[str, Tensor], cfgs: Sequence[TorchOptimConfig], order: Sequence[str],
                 step: int = 0, roles: Mapping[str, str] | None = None) -> None:
        self.params, self.order, self.kind = params, list(order), cfgs[0].name
        self.grokfast, self.orthograd = cfgs[0].grokfast == "ema", cfgs[0].orthograd
        device = next(iter(params.values())).device

        def hyper(values: list[float]) -> Tensor:
            return torch.tensor(values, dtype=torch.float64, device=device)

        def member(attr: str) -> Tensor:  # 0 where the kind's settings lack it (SGD's betas, Adam's momentum)
            return hyper([float(getattr(c, attr, 0.0)) for c in cfgs])

        self.lr, self.beta1, self.beta2, self.eps = member("lr"), member("beta1"), member("beta2"), member("eps")
        self.warmup, self.momentum = member("warmup_steps"), member("momentum")
        self.gf_alpha, self.gf_lamb, self.l1 = member("grokfast_alpha"), member("grokfast_lamb"), member("l1")
        # per tensor, its parameter group's (optim.roles): W_E's own lr and weight decay (Liu et al. 2022's two
        # optimizers), no weight decay on the parameters optim.no_decay exempts
        base_lr = {"": self.lr, "no_decay": self.lr,
                   "embed": hyper([c.embed_lr if c.embed_lr is not None else c.lr for c in cfgs])}
        wd = {"": member("weight_decay"), "no_decay": hyper([0.0] * len(cfgs)),
              "embed": hyper([c.embed_weight_decay if c.embed_weight_decay is not None else c.weight_decay
                              for c in cfgs])}
        which = [(roles or {}).get(k, "") for k in params]
        self.base_lr, self.wd = [base_lr[w] for w in which], [wd[w] for w in which]
        self.clip = member("clip_grad_norm")
        self.clipping = bool((self.clip > 0).any())  # decided once: no host sync in the step
        self.step_t = torch.tensor(float(step), dtype=torch.float64, device=device)
        zeros = {k: torch.zeros_like(p, memory_format=torch.preserve_format) for k, p in params.items()}
        self.exp_avg = zeros if self.kind != "sgd" else {}
        self.exp_avg_sq = {k: torch.zeros_like(p) for k, p in params.items()} if self.kind != "sgd" else {}
        self.buf = {k: torch.zeros_like(p) for k, p in params.items()} if self.uses_momentum else {}
        self.started = step > 0  # SGD's momentum buffer starts as a copy of the first gradient
        self.mu: dict[str, Tensor] | None = None  # Grokfast-EMA state, created from the first gradient

    @property
    def uses_momentum(self) -> bool:
        return self.kind == "sgd" and bool((self.momentum != 0).any())

    def factor(self) -> Tensor:
        """lr_at(cfg, step) / lr, per member: the warm-up factor the plain loop's `set_lr` applies."""
        s = self.step_t
        warm = torch.where(s < self.warmup, self.lr * (s + 1) / self.warmup.clamp(min=1), self.lr)
        return warm / self.lr

    @torch.no_grad()
    def step(self) -> None:
        """One update of every member."""
        f = self.factor()
        lrs = [base * f for base in self.base_lr]
        self.step_t += 1
        params = list(self.params.values())
        if self.clipping:
            clip_([p.grad for p in params], self.clip)  # type: ignore[misc]
        grads = self._filtered([p.grad for p in params])  # type: ignore[misc]
        if self.kind == "sgd":
            self._sgd(params, grads, lrs)
        else:
            self._adam(params, grads, lrs)

    def _filtered(self, grads: list[Tensor]) -> list[Tensor]:
        """Grokfast-EMA (as ema_filter: mu <- alpha mu + (1 - alpha) g, mu starting at g; g <- g + lamb mu), then
        ⊥Grad (as optim.orthograd.orthogonalize), in the reference loop's order."""
        if self.grokfast:
            if self.mu is None:
                self.mu = {k: g.detach().clone() for k, g in zip(self.params, grads, strict=True)}
            mus = list(self.mu.values())  # updated in place: a captured CUDA graph keeps reading the same tensors
            torch._foreach_mul_(mus, cols(self.gf_alpha, grads))
            torch._foreach_add_(mus, torch._foreach_mul(grads, cols(1 - self.gf_alpha, grads)))
            grads = torch._foreach_add(grads, torch._foreach_mul(mus, cols(self.gf_lamb, grads)))
        if self.orthograd:
            grads = [orthogonal(w, g) for w, g in zip(self.params.values(), grads, strict=True)]
        return grads

    def _adam(self, params: list[Tensor], grads: list[Tensor], lrs: list[Tensor]) -> None:
        """`_single_tensor_adam`'s operations, batched with torch._foreach_*."""
        bc1 = 1 - torch.pow(self.beta1, self.step_t)
        bc2_sqrt = torch.sqrt(1 - torch.pow(self.beta2, self.step_t))
        if self.kind == "adamw":
            torch._foreach_mul_(params, cols([1 - lr * wd for lr, wd in zip(lrs, self.wd, strict=True)], params))
        else:
            grads = torch._foreach_add(grads, torch._foreach_mul(cols(self.wd, params), params))
        m, v = list(self.exp_avg.values()), list(self.exp_avg_sq.values())
        torch._foreach_lerp_(m, grads, cols(1 - self.beta1, m))
        torch._foreach_mul_(v, cols(self.beta2, v))
        torch._foreach_add_(v, torch._foreach_mul(torch._foreach_mul(cols(1 - self.beta2, v), grads), grads))
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, cols(bc2_sqrt, v))
        torch._foreach_add_(denom, cols(self.eps, v))
        update = torch._foreach_mul(cols([-(lr / bc1) for lr in lrs], params), m)
        torch._foreach_div_(update, denom)
        torch._foreach_add_(params, update)

    def _sgd(self, params: list[Tensor], grads: list[Tensor], lrs: list[Tensor]) -> None:
        """`_single_tensor_sgd`'s operations (dampening 0, no Nesterov), batched."""
        grads = torch._foreach_add(grads, torch._foreach_mul(cols(self.wd, params), params))
        if self.uses_momentum:
            bufs = list(self.buf.values())
            if not self.started:
                torch._foreach_copy_(bufs, grads)
            else:
                torch._foreach_mul_(bufs, cols(self.momentum, bufs))
                torch._foreach_add_(bufs, grads)
            grads = bufs
        self.started = True
        torch._foreach_add_(params, torch._foreach_mul(grads, cols([-lr for lr in lrs], params)))

    def select(self, keep: Tensor) -> None:
        """Keep only the members in `keep` (a diverged member leaves the group)."""
        for attr in ("lr", "beta1", "beta2", "eps", "warmup", "momentum", "gf_alpha", "gf_lamb", "l1", "clip"):
            setattr(self, attr, getattr(self, attr)[keep])
        self.base_lr, self.wd = [v[keep] for v in self.base_lr], [v[keep] for v in self.wd]
        for attr in ("exp_avg", "exp_avg_sq", "buf"):
            setattr(self, attr, {k: v[keep] for k, v in getattr(self, attr).items()})
        if self.mu is not None:
            self.mu = {k: v[keep] for k, v in self.mu.items()}

    # --- the plain loop's checkpoint format ---------------------------------------------------------------
    def load_member(self, i: int, optimizer_state: dict[str, Any], filter_state: dict[str, Any] | None) -> None:
        """Load member i's state from a torch.optim state_dict (as the reference loop saves it)."""
        for j, k in enumerate(self.order):
            st = optimizer_state["state"].get(j, {})
            for name, store in (("exp_avg", self.exp_avg), ("exp_avg_sq", self.exp_avg_sq),
                                ("momentum_buffer", self.buf)):
                if k in store and st.get(name) is not None:
                    store[k][i].copy_(st[name])
        if filter_state is not None and self.grokfast:
            if self.mu is None:
                self.mu = {k: torch.zeros_like(p) for k, p in self.params.items()}
            for k in self.params:
                self.mu[k][i].copy_(filter_state["mu"][k])

    def member_state(self, i: int, template: dict[str, Any], last_factor: float) -> dict[str, Any]:
        """Member i's state as the torch.optim state_dict that `optimizer.load_state_dict` accepts. `template` is
        a fresh optimizer's state_dict of that member (param_groups with base_lr); each group's lr is its base lr
        times the last update's warm-up factor, as `set_lr` left it."""
        state: dict[int, dict[str, Any]] = {}
        for j, k in enumerate(self.order):
            if self.kind != "sgd":
                step = torch.tensor(float(self.step_t.item()), dtype=torch.float32)  # torch keeps it in float32
                state[j] = {"step": step, "exp_avg": self.exp_avg[k][i].detach().clone(),
                            "exp_avg_sq": self.exp_avg_sq[k][i].detach().clone()}
            elif template["param_groups"][0]["momentum"] != 0 and self.started:
                state[j] = {"momentum_buffer": self.buf[k][i].detach().clone()}
        groups = [dict(g, lr=g["base_lr"] * last_factor) for g in template["param_groups"]]
        return {"state": state, "param_groups": groups}

    def member_filter_state(self, i: int) -> dict[str, Any] | None:
        if self.mu is None:
            return None
        return {"mu": {k: v[i].detach().clone() for k, v in self.mu.items()}}


@torch.no_grad()
def clip_(grads: list[Tensor], max_norm: Tensor) -> None:
    """torch.nn.utils.clip_grad_norm_ per member, in place: each member's gradients scaled by min(1, max_norm /
    (its global L2 norm + 1e-6)); a member with max_norm 0 is left unclipped."""
    norms = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads])  # [tensors, M]
    total = torch.linalg.vector_norm(norms, dim=0)
    coef = torch.clamp(max_norm.to(total.dtype) / (total + 1e-6), max=1.0)
    coef = torch.where(max_norm > 0, coef, torch.ones_like(coef))
    torch._foreach_mul_(grads, cols(coef, grads))


def orthogonal(w: Tensor, g: Tensor, eps: float = 1e-30) -> Tensor:
    """⊥Grad per member (optim.orthograd.orthogonalize on each member's flattened tensor): the part of g orthogonal
    to w, rescaled to |g|."""
    wf, gf = w.detach().flatten(1), g.detach().flatten(1)
    proj = (wf * gf).sum(1, keepdim=True) / ((wf * wf).sum(1, keepdim=True) + eps)
    perp = gf - proj * wf
    scaled = perp * (gf.norm(dim=1, keepdim=True) / (perp.norm(dim=1, keepdim=True) + eps))
    return scaled.view_as(g)
