"""An MLP on concatenated one-hot operands: Gromov 2023 / Doshi et al. 2024 and Prieto et al. 2025 (papers.md §08,
Extra B).

Input: the one-hots of the S operand tokens side by side (S·p features, no op or `=` token), then `n_layers`
hidden layers of width `d_mlp` and a linear read-out. Weights are stored as nn.Linear weights ([out, in]), so
the first layer is Gromov's (U | V) = fc1.weight [N, 2p] and the read-out is W = fc2.weight [p, N].
- Gromov 2023: 1 hidden layer, no biases, φ(x) = x² (`act=square`), MSE to one-hot, both matrices N(0, std
  0.5/(2N)^{1/3}) (`init=gromov`; d-doshi/Grokking `utils/models.py` `fcn`, read: std = 0.25**0.5 /
  (2N)**(1/3)).
- Doshi et al. 2024: φ(x) = x^S for S-term sums (`act=power`).
- Prieto 2025: 226 → 200 → 200 → 113, ReLU, no biases, torch's default init (`n_layers=2`, `bias=false`).
`linear=bitlinear` quantises the hidden-to-hidden layers (the first layer reads one-hots: an embedding).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.errors import ConfigError
from groklab.models import bitlinear
from groklab.models.registry import register
from groklab.models.settings import HiddenLinear, Scaled
from groklab.tasks import TaskData

INITS = ("torch", "gromov")


@dataclass(frozen=True)
class ConcatConfig(Scaled, HiddenLinear):
    name: str = "mlp_concat"
    bias: bool = True  # biases in the linear layers (Gromov and Prieto use none)
    init: str = "torch"  # torch (nn.Linear default) | gromov (N(0, 0.5 / (2 d_mlp)^(1/3)))

    ACTS: ClassVar[tuple[str, ...]] = ("relu", "gelu", "tanh", "square", "power")  # square: Gromov; power: x^S

    def check(self) -> None:
        super().check()
        if self.init not in INITS:
            raise ConfigError(f"model.init={self.init!r}: mlp_concat expects one of {', '.join(INITS)}")


class ConcatMLP(nn.Module):
    def __init__(self, p: int, n_terms: int, d_out: int, d_mlp: int, n_layers: int, act: str, bias: bool,
                 init: str = "torch", init_scale: float = 1.0, linear: str = "dense") -> None:
        super().__init__()
        self.p, self.n_terms, self.act, self.linear = p, n_terms, act, linear
        widths = [n_terms * p] + [d_mlp] * n_layers + [d_out]
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=bias) for a, b in itertools.pairwise(widths))
        with torch.no_grad():
            for layer in self.layers:
                if init == "gromov":  # N(0, 0.5 / (2N)^{1/3}), N the hidden width (Gromov 2023's code)
                    nn.init.normal_(layer.weight, std=0.5 / (2 * d_mlp) ** (1 / 3))
                layer.weight.mul_(init_scale)

    def _act(self, x: Tensor) -> Tensor:
        if self.act == "relu":
            return F.relu(x)
        if self.act == "gelu":
            return F.gelu(x)
        if self.act == "tanh":
            return torch.tanh(x)
        return x.pow(2 if self.act == "square" else self.n_terms)  # power: φ(x) = x^S (Doshi et al. 2024)

    def forward(self, tokens: Tensor) -> Tensor:
        """tokens [batch, S] (values 0..p-1) -> outputs [batch, d_out]."""
        h = F.one_hot(tokens, self.p).flatten(1).to(self.layers[0].weight.dtype)
        for i, layer in enumerate(self.layers[:-1]):
            if i == 0 or self.linear == "dense":
                h = self._act(layer(h))
            else:  # a hidden-to-hidden layer through BitLinear
                quantized = bitlinear.quantize_weight(layer.weight)
                h = self._act(F.linear(bitlinear.quantize_activation(h), quantized, layer.bias))
        return self.layers[-1](h)

    def fourier_weights(self) -> list[Tensor]:
        """Per-neuron rows over Z_p, each [N, p]: the first layer's block of every operand, then the read-out's
        columns when there is one hidden layer (Doshi et al. Eq. 4: U[k], V[k], W[:, k]); what
        `groklab.probes.ipr.neuron_ipr` takes."""
        first, last = self.layers[0].weight, self.layers[-1].weight
        blocks = [first[:, i * self.p : (i + 1) * self.p] for i in range(self.n_terms)]
        return [*blocks, last[: self.p].T] if len(self.layers) == 2 else blocks


@register("mlp_concat", settings=ConcatConfig)
def build_concat_mlp(cfg: ConcatConfig, task: TaskData) -> ConcatMLP:
    """`model.name=mlp_concat`: needs a token classification task whose tokens are the operands 0..p-1."""
    if task.vocab_size is None or task.n_classes is None:
        raise ConfigError("model.name=mlp_concat needs a token classification task (e.g. task.name=multiterm)")
    return ConcatMLP(task.vocab_size, task.seq_len, task.n_classes, cfg.d_mlp, cfg.n_layers, cfg.act, cfg.bias,
                     cfg.init, cfg.init_scale, cfg.linear)
