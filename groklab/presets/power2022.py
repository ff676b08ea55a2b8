"""Power, Burda, Edwards, Babuschkin, Misra 2022, "Grokking: Generalization beyond overfitting on small
algorithmic datasets" (arXiv 2201.02177); papers.md §01.

x/y mod 97 (p(p-1) = 9,312 pairs), 50% for training, `[a, op, b, =]`, the 2-layer post-LN transformer (d 128,
4 heads, FFN 512, ~4e5 non-embedding parameters), AdamW lr 1e-3, wd 1, betas (0.9, 0.98), 10 warm-up steps,
minibatch min(512, N/2). The paper's budget is 1e5 updates; with wd 1 validation accuracy passes 99% after a few
thousand, so the default budget fits a laptop CPU in a few minutes. Every operation and S5 task is `task.op`.
"""

import dataclasses

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Preset

PRESET = Preset(
    name="power2022",
    paper="Power et al. 2022, Grokking: generalization beyond overfitting on small algorithmic datasets "
    "(arXiv 2201.02177)",
    reproduces="delayed generalization on x/y mod 97 with 50% data: train acc 0.99 long before val acc 0.99",
    config=RunConfig(
        name="power2022",
        task=TaskConfig(op="x/y", p=97, train_frac=0.5, layout="a_op_b_eq"),
        model=ModelConfig(name="power_transformer", n_layers=2, d_model=128, n_heads=4, d_mlp=512),
        optim=OptimConfig(name="adamw", lr=1e-3, weight_decay=1.0, beta1=0.9, beta2=0.98, warmup_steps=10),
        train=TrainConfig(steps=4_000, batch_size="auto", eval_every=100),
    ),
    paper_scale=("train.steps=100000",),
)

# Figure 1 (the famous curve): plain Adam, no weight decay, 1e6 updates. GPU scale: train acc ~1 before 1e3
# steps, val acc near 1 only close to 1e6 (papers.md §01 "Headline results").
FIG1 = Preset(
    name="power2022_fig1",
    paper=PRESET.paper,
    reproduces="Fig. 1: x/y mod 97, 50% data, Adam without weight decay: train ~1.0 before 1e3 steps, val ~1.0 "
    "near 1e6 steps (GPU scale)",
    config=dataclasses.replace(
        PRESET.config,
        name="power2022_fig1",
        optim=dataclasses.replace(PRESET.config.optim, name="adam", weight_decay=0.0),
        train=dataclasses.replace(PRESET.config.train, steps=1_000_000, eval_every=1_000, checkpoint_every=10_000),
    ),
)
