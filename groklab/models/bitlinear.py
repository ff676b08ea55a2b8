"""BitLinear: the quantised matmul of BitNet b1.58 (Ma et al. 2024, "The Era of 1-bit LLMs: All Large Language
Models are in 1.58 Bits", arXiv 2402.17764), as pure functions on groklab's weight tensors.

- Weights, §2 (the "absmean" quantisation function): W~ = RoundClip(W / γ, -1, 1), γ = mean|W| over the whole
  matrix; the layer computes with γ·W~, so every weight is one of {-γ, 0, +γ}. γ is clamped at >= 1e-5 instead of
  the paper's γ + ε (the same unless the matrix is all but zero).
- Activations, §2 (as in BitNet, Wang et al. 2023, arXiv 2310.11453, §2.1): 8-bit absmax quantisation per token,
  scaled into [-Q_b, Q_b] with no zero point: x~ = round(x · 127 / max|x|) · max|x| / 127, max over the last
  (feature) dimension.
- Training: both are straight-through estimators (Bengio et al. 2013), as BitNet trains: the forward uses the
  quantised values, the backward treats quantisation as the identity, so the latent full-precision weights learn.

Not reproduced on purpose: BitNet's extra normalisation inside BitLinear (SubLN before the activation
quantiser). Here `model.linear=bitlinear` swaps only the matmuls of a model's hidden layers, so a BitLinear run
differs from its dense twin by quantisation alone; the model's own LayerNorms stay where its architecture puts
them. Embeddings and the unembedding stay full precision (the paper quantises the hidden linear layers only).
"""

from __future__ import annotations

from torch import Tensor

LINEARS = ("dense", "bitlinear")
EPS = 1e-5
ACT_LEVELS = 127  # 8 bits, symmetric: Q_b - 1


def straight_through(x: Tensor, q: Tensor) -> Tensor:
    """q in the forward pass (exactly: x - x.detach() is 0), the identity's gradient in the backward pass."""
    return q.detach() + (x - x.detach())


def ternary(w: Tensor) -> tuple[Tensor, Tensor]:
    """(W~ in {-1, 0, 1}, γ): absmean quantisation of a whole weight matrix (§2)."""
    scale = w.abs().mean().clamp(min=EPS)
    return (w / scale).round().clamp(-1, 1), scale


def quantize_weight(w: Tensor) -> Tensor:
    """γ·W~ with a straight-through gradient."""
    levels, scale = ternary(w)
    return straight_through(w, levels * scale)


def quantize_activation(x: Tensor) -> Tensor:
    """Per-token (last dimension) 8-bit absmax quantisation with a straight-through gradient."""
    scale = ACT_LEVELS / x.abs().amax(-1, keepdim=True).clamp(min=EPS)
    return straight_through(x, (x * scale).round().clamp(-ACT_LEVELS - 1, ACT_LEVELS) / scale)


def weight(w: Tensor, linear: str) -> Tensor:
    """The weight a layer computes with: w itself (dense) or its ternary form (bitlinear)."""
    return w if linear == "dense" else quantize_weight(w)


def activation(x: Tensor, linear: str) -> Tensor:
    """The input a layer computes with: x itself (dense) or its 8-bit form (bitlinear)."""
    return x if linear == "dense" else quantize_activation(x)


def matmul(x: Tensor, w: Tensor, linear: str) -> Tensor:
    """x @ w, through BitLinear's quantisers when `linear == "bitlinear"` (w in [in, out] layout)."""
    return x @ w if linear == "dense" else quantize_activation(x) @ quantize_weight(w)
