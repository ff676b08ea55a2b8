"""Nanda, Chan, Lieberum, Smith, Steinhardt 2023, "Progress measures for grokking via mechanistic
interpretability" (ICLR 2023, arXiv 2301.05217); papers.md §03.

(a + b) mod 113 read as `[a, b, =]`, 30% of the 12,769 pairs for training (3,830), a 1-layer transformer without
LayerNorm, full-batch AdamW lr 1e-3, wd 1, betas (0.9, 0.98) and 10 warm-up steps (from the code), 40k epochs.
The log-softmax is taken in float64, which the released code meant to do and did not (papers.md §03 pitfalls).
Figure 2: train loss falls by ~1.4k steps, test loss only after ~10k (phases 0-1.4k / 1.4k-9.4k / 9.4k-14k).
"""

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Preset

PRESET = Preset(
    name="nanda2023",
    paper="Nanda et al. 2023, Progress measures for grokking via mechanistic interpretability (arXiv 2301.05217)",
    reproduces="Fig. 2: train acc 1.0 by ~1.4k steps, test acc > 0.95 near 10k (third-party: 6.3k-8.4k)",
    config=RunConfig(
        name="nanda2023",
        task=TaskConfig(op="x+y", p=113, train_frac=0.3, layout="a_b_eq"),
        model=ModelConfig(name="nanda_transformer", n_layers=1, d_model=128, n_heads=4, d_mlp=512),
        optim=OptimConfig(name="adamw", lr=1e-3, weight_decay=1.0, beta1=0.9, beta2=0.98, warmup_steps=10),
        train=TrainConfig(steps=40_000, batch_size="full", eval_every=100, loss_dtype="float64",
                          checkpoint_every=1_000, log_checkpoints=60),
    ),
)
