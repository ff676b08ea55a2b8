"""Muon: MomentUm Orthogonalized by Newton-Schulz (K. Jordan et al. 2024), with AdamW for everything else.

Why in a grokking lab: Muon's update has (roughly) unit singular values whatever the gradient's scale, which
changes the norm dynamics grokking depends on (weight decay, slingshots, softmax collapse). It is a controlled
alternative to AdamW for asking how the optimizer's geometry moves the grokking delay, not a default.

Checked against KellerJordan/Muon `muon.py` (`zeropower_via_newtonschulz5`, `muon_update`,
`SingleDeviceMuonWithAuxAdam`; read, not copied):
- Newton-Schulz quintic X <- aX + (bA + cA^2)X with A = X X^T, (a, b, c) = (3.4445, -4.7750, 2.0315), 5 steps,
  after X <- G / (|G|_F + 1e-7); the wide orientation is used (transpose when rows > cols). By design it gives
  roughly U S' V^T with S'_ii ~ Uniform(0.5, 1.5) (the reference's words), not the exact polar factor U V^T.
- momentum: buf <- lerp(buf, g, 1 - beta) (an EMA, not SGD's buf*beta + g); Nesterov update
  u = lerp(g, buf, beta); then NS(u) * sqrt(max(1, rows / cols)); decoupled decay p <- p (1 - lr wd);
  p <- p - lr * update.
- the auxiliary Adam is AdamW with bias correction, update m_hat / (sqrt(v_hat) + eps), defaults betas
  (0.9, 0.95), eps 1e-10; it equals torch.optim.AdamW up to rounding.
Differences, on purpose: the reference iterates in bfloat16 (GPU speed); here in float32 by default
(`ns_dtype`), for reproducible CPU runs of small models and exact tests. The reference's `muon_update` writes
the Nesterov blend into p.grad in place; here p.grad is left untouched.

Which parameters: exactly 2-D ones go to Muon, everything else (biases, gains, 3-D attention weights such as
groklab's W_Q [heads, d_model, d_head]) to AdamW. As in the modded-nanogpt recipe, embeddings and the output
head should also use AdamW: pass them in a param group with `use_muon=False`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from groklab.config import OptimConfig, refuse_first
from groklab.errors import GroklabError
from groklab.optim.adam import moment_checks
from groklab.optim.registry import register

NS_COEFFS = (3.4445, -4.7750, 2.0315)
EMBEDS = ("W_E", "W_pos", "W_U")  # embeddings and unembedding: to AdamW, as in the modded-nanogpt recipe


def newton_schulz(g: Tensor, steps: int = 5, eps: float = 1e-7, dtype: torch.dtype = torch.float32) -> Tensor:
    """Approximate orthogonalisation (the "zeroth power" U V^T) of a 2-D matrix by the quintic iteration.

    Returns a tensor of g's shape and dtype.
    """
    if g.ndim != 2:
        raise GroklabError(f"Newton-Schulz needs a 2-D matrix, got shape {tuple(g.shape)}")
    a, b, c = NS_COEFFS
    x = g.to(dtype)
    tall = g.shape[0] > g.shape[1]
    if tall:
        x = x.T
    x = x / (x.norm() + eps)  # Frobenius norm >= spectral norm, so all singular values are <= 1
    for _ in range(steps):
        s = x @ x.T
        x = a * x + (b * s + c * s @ s) @ x
    if tall:
        x = x.T
    return x.to(g.dtype)


class Muon(torch.optim.Optimizer):
    """Muon for 2-D parameters, AdamW for the rest, in one optimizer (one `step`, one `state_dict`).

    Group keys: lr, momentum, nesterov, ns_steps, weight_decay (Muon); adamw_lr, adamw_betas, adamw_eps,
    adamw_weight_decay (the AdamW fallback); use_muon (default True: 2-D tensors of the group use Muon; False:
    the whole group uses AdamW). Defaults follow the reference: lr 0.02, momentum 0.95, Nesterov, 5 NS steps;
    AdamW lr 3e-4, betas (0.9, 0.95), eps 1e-10. A schedule that rewrites group["lr"] (torch's LR schedulers,
    a warm-up) scales only the Muon part; scale group["adamw_lr"] alongside if the AdamW part should follow.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.02,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_steps: int = 5,
        weight_decay: float = 0.0,
        adamw_lr: float = 3e-4,
        adamw_betas: tuple[float, float] = (0.9, 0.95),
        adamw_eps: float = 1e-10,
        adamw_weight_decay: float = 0.0,
        use_muon: bool = True,
        ns_dtype: torch.dtype = torch.float32,
    ) -> None:
        if lr < 0 or adamw_lr < 0:
            raise GroklabError(f"Muon learning rates must be >= 0, got lr={lr}, adamw_lr={adamw_lr}")
        if not 0.0 <= momentum < 1.0:
            raise GroklabError(f"Muon momentum must be in [0, 1), got {momentum}")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            nesterov=nesterov,
            ns_steps=ns_steps,
            weight_decay=weight_decay,
            adamw_lr=adamw_lr,
            adamw_betas=tuple(adamw_betas),
            adamw_eps=adamw_eps,
            adamw_weight_decay=adamw_weight_decay,
            use_muon=use_muon,
        )
        super().__init__(params, defaults)
        self.ns_dtype = ns_dtype

    @staticmethod
    def uses_muon(group: dict[str, Any], p: Tensor) -> bool:
        return bool(group["use_muon"]) and p.ndim == 2

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if self.uses_muon(group, p):
                    self._muon_step(group, p)
                else:
                    self._adamw_step(group, p)
        return loss

    def _muon_step(self, group: dict[str, Any], p: Tensor) -> None:
        g = p.grad
        state = self.state[p]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(p)
        buf = state["momentum_buffer"]
        beta = group["momentum"]
        buf.lerp_(g, 1 - beta)
        update = g.lerp(buf, beta) if group["nesterov"] else buf
        update = newton_schulz(update, steps=group["ns_steps"], dtype=self.ns_dtype)
        update = update * max(1.0, p.shape[0] / p.shape[1]) ** 0.5
        p.mul_(1 - group["lr"] * group["weight_decay"])
        p.add_(update, alpha=-group["lr"])

    def _adamw_step(self, group: dict[str, Any], p: Tensor) -> None:
        g = p.grad
        state = self.state[p]
        if "step" not in state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        beta1, beta2 = group["adamw_betas"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        lr = group["adamw_lr"]
        p.mul_(1 - lr * group["adamw_weight_decay"])
        p.add_(m_hat / (v_hat.sqrt() + group["adamw_eps"]), alpha=-lr)


@dataclass(frozen=True)
class MuonConfig(OptimConfig):
    """Muon's lr, and the settings of its AdamW part, which takes the common `lr` and `weight_decay`. Muon groups
    its own parameters, so the torch optimizers' embed_lr, no_decay and ⊥Grad do not apply."""

    name: str = "muon"
    muon_lr: float = 0.02  # lr of the Muon part (2-D hidden matrices; the reference's default); `lr` drives AdamW
    beta1: float = 0.9  # the AdamW part's moment decays and eps (as optim.name=adamw's)
    beta2: float = 0.98
    eps: float = 1e-8

    def check(self) -> None:
        super().check()
        refuse_first([(self.muon_lr > 0, f"optim.muon_lr must be > 0 (got {self.muon_lr})"),
                      *moment_checks(self.beta1, self.beta2, self.eps)])


@register("muon", settings=MuonConfig)
def muon(cfg: MuonConfig, model: nn.Module) -> torch.optim.Optimizer:
    """Hidden 2-D matrices to Muon; embeddings, unembedding and the rest to AdamW."""
    hidden = [p for n, p in model.named_parameters() if p.ndim == 2 and n.rsplit(".", 1)[-1] not in EMBEDS]
    rest = [p for n, p in model.named_parameters() if not (p.ndim == 2 and n.rsplit(".", 1)[-1] not in EMBEDS)]
    groups = [{"params": hidden, "use_muon": True}, {"params": rest, "use_muon": False}]
    return Muon([g for g in groups if g["params"]], lr=cfg.muon_lr, weight_decay=cfg.weight_decay, adamw_lr=cfg.lr,
                adamw_betas=(cfg.beta1, cfg.beta2), adamw_eps=cfg.eps, adamw_weight_decay=cfg.weight_decay)
