"""A plain MLP on one-hot token inputs.

One-hot encoding each position over the vocabulary and multiplying by the first weight matrix equals summing one
row of W_in per position, so W_in is stored as [pos, d_vocab, d_mlp] and indexed, never materialised as one-hots.
`linear=bitlinear` quantises the hidden-to-hidden layers W_hidden (W_in is an embedding, W_out the read-out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.models import bitlinear
from groklab.models.registry import register, token_sizes
from groklab.models.settings import HiddenLinear
from groklab.tasks.base import TaskData


class OneHotMLP(nn.Module):
    def __init__(self, d_vocab: int, n_ctx: int, d_out: int, d_mlp: int, n_layers: int, act: str,
                 linear: str = "dense") -> None:
        super().__init__()
        self.act, self.linear = act, linear
        self.W_in = nn.Parameter(torch.empty(n_ctx, d_vocab, d_mlp))
        self.b_in = nn.Parameter(torch.zeros(d_mlp))
        self.W_hidden = nn.ParameterList(nn.Parameter(torch.empty(d_mlp, d_mlp)) for _ in range(n_layers - 1))
        self.b_hidden = nn.ParameterList(nn.Parameter(torch.zeros(d_mlp)) for _ in range(n_layers - 1))
        self.W_out = nn.Parameter(torch.empty(d_mlp, d_out))
        self.b_out = nn.Parameter(torch.zeros(d_out))
        for w in [self.W_in, *self.W_hidden, self.W_out]:  # nn.Linear's default: U(±1/sqrt(fan_in))
            fan_in = w.shape[0] * w.shape[1] if w.dim() == 3 else w.shape[0]
            nn.init.uniform_(w, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def _act(self, x: Tensor) -> Tensor:
        return F.relu(x) if self.act == "relu" else F.gelu(x)

    def forward(self, tokens: Tensor) -> Tensor:
        """tokens [batch, pos] -> logits [batch, d_out]."""
        n_ctx, d_vocab, d_mlp = self.W_in.shape
        flat = tokens + d_vocab * torch.arange(tokens.shape[1], device=tokens.device)  # row of W_in per position
        h = self._act(F.embedding(flat, self.W_in.reshape(n_ctx * d_vocab, d_mlp)).sum(1) + self.b_in)  # [batch, d_mlp]
        for w, b in zip(self.W_hidden, self.b_hidden, strict=True):
            h = self._act(bitlinear.matmul(h, w, self.linear) + b)
        return h @ self.W_out + self.b_out


@dataclass(frozen=True)
class MLPConfig(HiddenLinear):
    name: str = "mlp"


@register("mlp", settings=MLPConfig)
def build_onehot_mlp(cfg: MLPConfig, task: TaskData) -> OneHotMLP:
    """An MLP sees every position: padding needs no special reading."""
    sizes = token_sizes(cfg, task)
    return OneHotMLP(sizes["d_vocab"], sizes["n_ctx"], sizes["d_out"], cfg.d_mlp, cfg.n_layers, cfg.act, cfg.linear)
