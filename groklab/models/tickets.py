"""The Grokking Tickets MLP ("OnlyMLP") of Minegishi, Iwasawa, Matsuo 2023 (arXiv 2310.19470; papers.md §10).

Each operand token is embedded (W_E [d_vocab, d_emb], d_emb = 500 in the paper), projected to the hidden width
(W_in [d_emb, d_hidden], 48 in the paper), the two projections are summed and passed through a ReLU, projected
back (W_out [d_hidden, d_emb]) and unembedded (W_U [d_emb, d_out]). Every layer is bias-free, so global
magnitude pruning sees every parameter. Only the operand positions are read (0, 1 for `[a, b, =]`; 0, 2 for
`[a, op, b, =]`): the constant op and `=` tokens would only add a bias. In its settings (TicketsConfig),
`d_model` is d_emb and `d_mlp` the hidden width. `linear=bitlinear` quantises W_in and W_out (W_E and W_U stay
full precision); W_E's rows are quantised per token, as the activations they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.models import bitlinear
from groklab.models.registry import register, token_sizes
from groklab.models.settings import Linear, Width
from groklab.tasks.base import TaskData


class TicketsMLP(nn.Module):
    def __init__(self, d_vocab: int, n_ctx: int, d_out: int, d_emb: int, d_hidden: int, act: str,
                 linear: str = "dense") -> None:
        super().__init__()
        self.act, self.linear = act, linear
        self.operands = (0, 2) if n_ctx == 4 else (0, 1)
        self.W_E = nn.Parameter(torch.randn(d_vocab, d_emb) / math.sqrt(d_emb))
        self.W_in = nn.Parameter(torch.empty(d_emb, d_hidden))
        self.W_out = nn.Parameter(torch.empty(d_hidden, d_emb))
        self.W_U = nn.Parameter(torch.empty(d_emb, d_out))
        for w in (self.W_in, self.W_out, self.W_U):  # nn.Linear's default: U(±1/sqrt(fan_in))
            bound = 1 / math.sqrt(w.shape[0])
            nn.init.uniform_(w, -bound, bound)

    def forward(self, tokens: Tensor) -> Tensor:
        """tokens [batch, pos] -> logits [batch, d_out]."""
        proj = bitlinear.matmul(self.W_E, self.W_in, self.linear)  # [d_vocab, d_hidden]: every token at once
        pre = sum(F.embedding(tokens[:, i], proj) for i in self.operands)  # F.embedding: deterministic backward
        h = F.relu(pre) if self.act == "relu" else F.gelu(pre)
        return bitlinear.matmul(h, self.W_out, self.linear) @ self.W_U


@dataclass(frozen=True)
class TicketsConfig(Linear, Width):
    """One hidden layer, as the paper's: no model.n_layers."""

    name: str = "tickets_mlp"


@register("tickets_mlp", settings=TicketsConfig)
def build_tickets_mlp(cfg: TicketsConfig, task: TaskData) -> TicketsMLP:
    """d_model is the embedding width, d_mlp the hidden width (Minegishi 2023's d_emb and d_hidden)."""
    sizes = token_sizes(cfg, task)
    return TicketsMLP(sizes["d_vocab"], sizes["n_ctx"], sizes["d_out"], cfg.d_model, cfg.d_mlp, cfg.act, cfg.linear)
