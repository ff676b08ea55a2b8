"""The effective-theory toy of Liu, Kitouni, Nolte, Michaud, Tegmark, Williams 2022 (arXiv 2205.10343, §2 and
Fig. 2; papers.md §02).

Each symbol 0..p-1 has a learnable representation `reprs` [p, d] (d = 1 in the paper); a pair (a, b) is
represented by the hard-coded sum reprs[a] + reprs[b], decoded by a tanh MLP d → w → w → out (3 nn.Linear layers
with biases, w = 200, out = 30). Checked against ejmichaud/grokking-squared `toy/train_add.py` (read): reprs are
U(-1/2, 1/2)·init_scale_reprs, the decoder keeps torch's default init times init_scale_nn (1.0).
In groklab's keys: `d_model` = d, `d_mlp` = w, `n_layers` = number of hidden layers (2), `init_scale` scales the
representations. The representations are named `W_E`, so `optim.embed_lr` / `optim.embed_weight_decay` give
them their own optimizer settings (the paper's two AdamW optimizers).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.errors import ConfigError
from groklab.models.registry import register
from groklab.models.settings import Depth, Scaled, Width
from groklab.tasks import TaskData

DECODER_ACTS = {"tanh": torch.tanh}  # the decoder's nonlinearity: the paper's tanh


class LiuToy(nn.Module):
    def __init__(self, p: int, d_repr: int, d_out: int, width: int, n_layers: int, init_scale: float,
                 act: str = "tanh") -> None:
        super().__init__()
        self.act = DECODER_ACTS[act]
        self.W_E = nn.Parameter((torch.rand(p, d_repr) - 0.5) * init_scale)
        widths = [d_repr] + [width] * n_layers + [d_out]
        self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))

    def forward(self, tokens: Tensor) -> Tensor:
        """tokens [batch, 2] -> decoded vector [batch, d_out]."""
        h = F.embedding(tokens, self.W_E).sum(1)  # not W_E[tokens]: its CPU backward adds in thread order
        for layer in self.decoder[:-1]:
            h = self.act(layer(h))
        return self.decoder[-1](h)

    def representation(self) -> Tensor:
        """The symbols' representations [p, d], what RQI is measured on."""
        return self.W_E


@dataclass(frozen=True)
class LiuToyConfig(Scaled, Depth, Width):
    """d_model: the representation width d, d_mlp: the decoder's width w, n_layers: its hidden layers, init_scale:
    the representations' scale; the decoder has biases and torch's init (no model.bias or model.init)."""

    name: str = "liu_toy"

    ACTS: ClassVar[tuple[str, ...]] = tuple(DECODER_ACTS)  # the default, relu, is refused: set model.act=tanh


@register("liu_toy", settings=LiuToyConfig)
def build_liu_toy(cfg: LiuToyConfig, task: TaskData) -> LiuToy:
    """`model.name=liu_toy`: needs the `toy_addition` task (token pairs, vector targets)."""
    if task.vocab_size is None or task.kind != "regression" or task.y_train.ndim != 2:
        raise ConfigError("model.name=liu_toy needs a token task with vector targets (task.name=toy_addition)")
    return LiuToy(task.vocab_size, cfg.d_model, int(task.y_train.shape[1]), cfg.d_mlp, cfg.n_layers,
                  cfg.init_scale, cfg.act)
