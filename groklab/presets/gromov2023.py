"""Gromov 2023, "Grokking modular arithmetic" (arXiv 2301.02679), and Doshi, He, Das, Gromov 2024, "Grokking
Modular Polynomials" (arXiv 2406.03495); papers.md §08.

A 2-layer bias-free MLP on the concatenated one-hots of the operands, φ(x) = x² (Doshi: x^S for S terms), MSE to
the one-hot answer, Gromov's init N(0, 0.5 / (2N)^{1/3}), full-batch AdamW lr 1e-2, betas (0.9, 0.98), eps 1e-8,
no weight decay and no other regularisation (d-doshi/Grokking `Training_scripts/phase_diagrams_wd.py`: p 97,
N 500, 2,000 epochs). The generalising solution is periodic: every neuron's weights are one Fourier mode, so the
mean IPR (`ipr` probe) rises towards 1. The CI-scale default is p 31 with 80% of the pairs (fewer pairs
memorise at this p); the paper's scale is `paper_scale`.
"""

import dataclasses

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Preset

PRESET = Preset(
    name="gromov2023",
    paper="Gromov 2023, Grokking modular arithmetic (arXiv 2301.02679)",
    reproduces="(n1 + n2) mod p with a quadratic MLP, MSE, no regularisation: test acc -> 1 while the mean "
    "Fourier IPR of the neurons rises (periodic features)",
    config=RunConfig(
        name="gromov2023",
        task=TaskConfig(name="multiterm", op="sum", p=31, terms=2, train_frac=0.8),
        model=ModelConfig(name="mlp_concat", n_layers=1, d_mlp=500, act="square", bias=False, init="gromov"),
        optim=OptimConfig(name="adamw", lr=1e-2, weight_decay=0.0, beta1=0.9, beta2=0.98, eps=1e-8,
                          warmup_steps=0),
        train=TrainConfig(steps=1_000, batch_size="full", eval_every=50, loss="mse", probes="ipr",
                          log_checkpoints=0),
    ),
    paper_scale=("task.p=97", "task.train_frac=0.5", "train.steps=2000"),
)

# Doshi et al. 2024: S-term modular addition with φ(x) = x^S (here S = 3: n1 + n2 + n3 mod p), and modular
# multiplication n1·n2 mod p with φ(x) = x². CI scale: p 11 (1,331 triples), 80% of them; at p 11 a random
# row already has an IPR near 0.3 (6 Fourier coefficients), so the IPR gain is smaller than at p 31.
DOSHI = Preset(
    name="doshi2024",
    paper="Doshi, He, Das, Gromov 2024, Grokking Modular Polynomials (arXiv 2406.03495)",
    reproduces="3-term modular addition with a cubic-activation MLP: test acc -> 1 with periodic (high-IPR) "
    "neurons; `task.op=product task.terms=2 model.act=square` is modular multiplication",
    config=dataclasses.replace(
        PRESET.config,
        name="doshi2024",
        task=TaskConfig(name="multiterm", op="sum", p=11, terms=3, train_frac=0.8),
        model=dataclasses.replace(PRESET.config.model, act="power"),
        train=dataclasses.replace(PRESET.config.train, steps=500),
    ),
    paper_scale=("task.p=23", "task.train_frac=0.5", "model.d_mlp=5000", "optim.lr=0.005", "train.steps=5000"),
)
