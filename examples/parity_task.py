"""A task of one's own, in one file: sparse parity. The label of a string of `n_bits` bits is the parity of its
first `k` bits (Barak et al. 2022, "Hidden Progress in Deep Learning: SGD Learns Parities Near the Computational
Limit"; Merrill et al. 2023 see grokking on it). Importing this module registers the task and a preset that trains
it: `task.name=parity` then selects its settings, `task.n_bits` and `task.k` are keys of this task only, and
`groklab run parity` trains the preset (docs/design.md, "A new task")."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from groklab.config import MODELS, OPTIMIZERS, RunConfig, TaskConfig, TrainConfig
from groklab.errors import ConfigError
from groklab.presets import base as presets
from groklab.tasks.base import TaskData, split_indices
from groklab.tasks.registry import register


@dataclass(frozen=True)
class ParityConfig(TaskConfig):
    """The keys the builder below reads, with their defaults; a key of another task is refused on this one."""

    name: str = "parity"
    n_bits: int = 10  # length of each bit string; all 2**n_bits strings are the data
    k: int = 3  # the label is the parity of the first k bits
    train_frac: float = 0.5  # fraction of the strings used for training; the rest is validation
    split_seed: int = 0  # seeds the train/validation split

    def check(self) -> None:
        if not 1 <= self.k <= self.n_bits <= 20:
            raise ConfigError(f"task.k and task.n_bits need 1 <= k <= n_bits <= 20 (got k={self.k}, "
                              f"n_bits={self.n_bits})")

    def label(self) -> str:
        return f"parity{self.k}of{self.n_bits}"


@register("parity", settings=ParityConfig)
def build(cfg: ParityConfig) -> TaskData:
    bits = (torch.arange(2**cfg.n_bits)[:, None] >> torch.arange(cfg.n_bits)) & 1  # every string, as tokens 0 and 1
    labels = bits[:, : cfg.k].sum(1) % 2
    train, val = split_indices(len(bits), cfg.train_frac, cfg.split_seed)
    return TaskData(bits[train], labels[train], bits[val], labels[val], kind="classification", n_classes=2,
                    vocab_size=2, meta={"task": "parity", "n_bits": cfg.n_bits, "k": cfg.k})


presets.register(presets.Preset(
    name="parity",
    paper="Barak et al. 2022, Hidden Progress in Deep Learning: SGD Learns Parities Near the Computational Limit "
    "(arXiv 2207.08799)",
    reproduces="an example of a preset of one's own: an MLP on 3-sparse parity of 10 bits",
    config=RunConfig(name="parity", task=ParityConfig(), model=MODELS.make("mlp", d_mlp=256),
                     optim=OPTIMIZERS.make("adamw", lr=1e-3, weight_decay=1.0), train=TrainConfig(steps=2_000)),
))
