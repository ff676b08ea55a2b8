"""Liu, Kitouni, Nolte, Michaud, Tegmark, Williams 2022, "Towards Understanding Grokking: An Effective Theory of
Representation Learning" (NeurIPS 2022, arXiv 2205.10343); papers.md §02.

The addition toy: symbols 0..9, the 55 unordered pairs, 45 for training (train_num 45), 1-d representations
summed and decoded by a tanh MLP 1-200-200-30, MSE to random templates, nearest-template accuracy
(`template_acc` probe), RQI logged live (`rqi` probe). Two AdamWs as in `toy/train_add.py`: representations lr
1e-3, wd 0 (`optim.embed_lr`, `optim.embed_weight_decay`); decoder lr `eta_dec` 1e-4 and wd 0 by default
(`optim.lr`, `optim.weight_decay`), betas (0.9, 0.999), full batch, no warm-up.
With `split_seed=1` and the paper's defaults (decoder lr 1e-4, wd 0) train accuracy passes 90% at step ~1.2k and
test accuracy at ~2.45k while RQI climbs to 1 (grokking by Liu's 10^3-step rule; the paper's own split gives
1.65k / 2.1k, comprehension).

`PHASE_CELLS` is a tiny-scale phase-diagram sweep over (decoder lr, decoder wd) (Fig. 6a), each cell with the
phase `groklab.analysis.detect` gives it (measured, split_seed 1, seed 0). Grokking sits in the paper's red box
(decoder lr 10^-3.6-10^-3.2, wd 6-8): at lr 3e-4, wd 6 train accuracy passes 90% at step 1.1k and test accuracy
at 3.1k; at 2.5e-4, wd 6 at 1.1k / 3.8k; at 4e-4, wd 7 only at 1.2k / 19.4k (a 20k-step budget). Around the box
at 20k steps: lr 6.3e-4, wd 8 and lr 2.5e-4, wd 8 memorise (test 0.7), lr 6.3e-4, wd 6 stays confused (train
below 90%). At wd 0 the decoder lr decides: lr 2e-4 learns both together (comprehension), lr 1e-2 memorises
before the representation forms.
"""

import dataclasses

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Preset

PRESET = Preset(
    name="liu2022_toy",
    paper="Liu et al. 2022, Towards Understanding Grokking: An Effective Theory of Representation Learning "
    "(arXiv 2205.10343)",
    reproduces="Fig. 2/3: the 1-d representation becomes linear (RQI -> 1) as test accuracy rises (45 of 55 "
    "pairs); Fig. 6a: decoder lr x wd phase diagram (comprehension, grokking, memorization)",
    config=RunConfig(
        name="liu2022_toy",
        task=TaskConfig(name="toy_addition", op="x+y", p=10, train_frac=45 / 55, split_seed=1, template_dim=30),
        model=ModelConfig(name="liu_toy", d_model=1, n_layers=2, n_heads=1, d_mlp=200, act="tanh"),
        optim=OptimConfig(name="adamw", lr=1e-4, weight_decay=0.0, beta1=0.9, beta2=0.999, warmup_steps=0,
                          embed_lr=1e-3, embed_weight_decay=0.0),
        train=TrainConfig(steps=5_000, batch_size="full", eval_every=50, probes="template_acc,rqi",
                          log_checkpoints=0),
    ),
    paper_scale=("train.steps=100000", "train.eval_every=100"),
)


def phase_cell(lr: float, weight_decay: float, steps: int = PRESET.config.train.steps) -> RunConfig:
    """One cell of the phase diagram: the preset with decoder lr and decoder weight decay set."""
    cfg = PRESET.config
    return dataclasses.replace(
        cfg, optim=dataclasses.replace(cfg.optim, lr=lr, weight_decay=weight_decay),
        train=dataclasses.replace(cfg.train, steps=steps),
    )


# (decoder lr, decoder wd, steps, phase): the CI-scale phase diagram (measured: train/test 90% crossings).
PHASE_CELLS: tuple[tuple[float, float, int, str], ...] = (
    (2e-4, 0.0, 2_000, "comprehension"),  # train 750, test 1,350
    (3e-4, 6.0, 4_500, "grokking"),  # the paper's box: train 1,100, test 3,100
    (1e-2, 0.0, 3_000, "memorization"),  # train 300, test never (0.1 at 5k steps)
)
