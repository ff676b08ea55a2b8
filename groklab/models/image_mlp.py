"""The MNIST MLP of Omnigrok (Liu et al. 2022/23, papers.md §05) and Humayun et al. 2024 (§06).

in_dim → d_mlp → … → d_mlp → n_classes: `model.n_layers` hidden layers of width `model.d_mlp`, each an nn.Linear
with bias followed by ReLU or GELU, then a linear read-out. Omnigrok's MNIST MLP is n_layers 2 (their
`depth = 3` counts nn.Linear modules); Humayun's "depth 4" is n_layers 3.

Initialisation: nn.Linear's default, then every parameter, biases included, multiplied by α = `model.init_scale`:
both reference codes do `for p in mlp.parameters(): p.data = initialization_scale * p.data`
(Omnigrok mnist/grokking/mnist-grokking.ipynb, α = 8; grok-adversarial train_mlp_mnist.py, α = 1).

The forward has no in-place operation on its input and no branch on tensor values, so it runs unchanged under
torch.func.functional_call and vmap (several α or seeds trained at once by the vectorised engine).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from groklab.errors import ConfigError
from groklab.models.registry import register
from groklab.models.settings import Depth, Scaled
from groklab.tasks import TaskData


class ImageMLP(nn.Module):
    def __init__(self, in_dim: int, n_classes: int, width: int, n_hidden: int, act: str, init_scale: float) -> None:
        super().__init__()
        self.act = act
        widths = [in_dim] + [width] * n_hidden + [n_classes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
        with torch.no_grad():
            for p in self.parameters():
                p.mul_(init_scale)

    def preactivations(self, x: Tensor) -> list[Tensor]:
        """The output of every nn.Linear, [batch, width] each, the logits last: what local complexity counts sign
        changes of (Humayun et al. hook every nn.Linear, the read-out included)."""
        h = x.to(self.layers[0].weight.dtype)  # float inputs follow the model's dtype (float64 runs)
        outs = []
        for i, layer in enumerate(self.layers):
            z = layer(h)
            outs.append(z)
            if i < len(self.layers) - 1:
                h = F.relu(z) if self.act == "relu" else F.gelu(z)
        return outs

    def forward(self, x: Tensor) -> Tensor:
        """x [batch, in_dim] -> logits [batch, n_classes]."""
        return self.preactivations(x)[-1]


@dataclass(frozen=True)
class ImageMLPConfig(Scaled, Depth):
    """Biases and torch's init, every parameter times init_scale (α): no model.bias or model.init."""

    name: str = "image_mlp"


@register("image_mlp", settings=ImageMLPConfig)
def build_image_mlp(cfg: ImageMLPConfig, task: TaskData) -> ImageMLP:
    """`model.name=image_mlp`: needs a classification task on float vectors (task.name=mnist)."""
    if task.kind != "classification" or task.in_dim is None or task.n_classes is None:
        raise ConfigError("model.name=image_mlp needs a classification task on vector inputs (task.name=mnist)")
    return ImageMLP(task.in_dim, task.n_classes, cfg.d_mlp, cfg.n_layers, cfg.act, cfg.init_scale)
