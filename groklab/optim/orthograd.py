"""⊥Grad (OrthoGrad) of Prieto, Barsbey, Mediano, Birdal 2025 (arXiv 2501.04697, "Grokking at the Edge of
Numerical Stability").

Why: once the training data is fit, the cross-entropy gradient mostly points along the weights themselves
("naive loss minimisation": scaling the logits up lowers the loss without changing predictions) and drives
softmax collapse. Removing the component of the gradient parallel to the weights stops that, and the model
generalises without the grokking delay (⊥AdamW, Figure 1: about 300 epochs).

Checked against the official `orthograd.py` (read through the fork EIFY/grokking-at-the-edge-of-numerical-
stability; not copied):
- per parameter *tensor* (flattened), not one global projection over all parameters;
- g_perp = g - (w.g / (w.w + 1e-30)) w, then rescaled to the original norm: g_perp * |g| / (|g_perp| + 1e-30);
- applied to every parameter with a gradient (biases included), then the base optimizer steps as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor


def orthogonalize(
    params: Sequence[Tensor], grads: Sequence[Tensor | None], eps: float = 1e-30
) -> list[Tensor | None]:
    """Pure ⊥Grad: for each (w, g), the part of g orthogonal to w, rescaled to |g|. None gradients stay None.

    A zero weight tensor leaves g unchanged (projection 0); a g exactly parallel to w becomes 0.
    """
    if len(params) != len(grads):
        raise ValueError(f"{len(params)} params but {len(grads)} grads")
    out: list[Tensor | None] = []
    for w, g in zip(params, grads, strict=True):
        if g is None:
            out.append(None)
            continue
        wf, gf = w.detach().reshape(-1), g.detach().reshape(-1)
        proj = torch.dot(wf, gf) / (torch.dot(wf, wf) + eps)
        g_perp = gf - proj * wf
        scaled = g_perp * (gf.norm() / (g_perp.norm() + eps))
        out.append(scaled.view_as(g))
    return out


class OrthoGrad(torch.optim.Optimizer):
    """Wrap any torch optimizer: orthogonalise every gradient, then let the base optimizer step.

    `OrthoGrad(model.parameters(), torch.optim.AdamW, lr=1e-2, betas=(0.9, 0.99), eps=1e-25)` is Prieto's
    ⊥AdamW.
    The wrapper and the base share their param-group dicts (as in the official code), so LR schedulers and
    `zero_grad` act on both; the state is the base optimizer's, and `state_dict()` / `load_state_dict()` are
    exactly the base optimizer's, so a checkpoint can be reloaded into either.
    """

    def __init__(
        self,
        params: Iterable[Any],
        base_optimizer_cls: type[torch.optim.Optimizer] = torch.optim.AdamW,
        ortho_eps: float = 1e-30,
        **base_kwargs: Any,
    ) -> None:
        # `ortho_eps`, not `eps`: an `eps` among the keywords is the base optimizer's (Prieto's AdamW eps 1e-25);
        # named `eps` here it was silently taken by the projection, and AdamW ran with its default 1e-8.
        super().__init__(params, {})
        self.eps = ortho_eps
        self.base_optimizer = base_optimizer_cls(self.param_groups, **base_kwargs)
        self._share()

    def _share(self) -> None:
        self.param_groups = self.base_optimizer.param_groups
        self.defaults = self.base_optimizer.defaults
        self.state = self.base_optimizer.state

    @torch.no_grad()
    def orthogonalize_grads_(self) -> None:
        """Replace p.grad in place by its ⊥Grad for every parameter of every group."""
        params = [p for group in self.param_groups for p in group["params"] if p.grad is not None]
        new = orthogonalize(params, [p.grad for p in params], eps=self.eps)
        for p, g in zip(params, new, strict=True):
            p.grad.copy_(g)  # type: ignore[union-attr, arg-type]

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        # A closure would recompute the gradients after the projection, so evaluate it first.
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.orthogonalize_grads_()
        self.base_optimizer.step()
        return loss

    def state_dict(self) -> dict[str, Any]:
        return self.base_optimizer.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.base_optimizer.load_state_dict(state_dict)
        self._share()
