"""The m-height study (issue 4, issue 17; mheight.md §4): predict log2 h_m of [I_k | P] over the 21 course groups.

`mheight` (best accuracy, issue 17 §2): inputs that carry the structure of the height instead of raw P
(`task.features=minors+ratios`, groklab.mheight.features): the sorted log2 |minors| of P of every size and the sorted
log2 Cramer ratios ||G_I^-1 g_i||_1, both invariant under the symmetries of P (§7.7); the model is `group_heads`, a
residual MLP with one head and one label scale per (n, k, m) group, trained on log2-MSE with per-group validation
log2-MSE at every evaluation (`val/mse/n,k,m`, `val/course_mse`). The largest Cramer ratio *is* h_{n-k} (§2.3
closed form), so the six m = n-k groups come down to passing one input through; `task.features=minors` leaves that
out and measures what the minors alone carry. The default is CI-sized (2,000 training rows per group generated on
first use, width 128, 3k steps); `paper_scale` is the course's 20k training rows per group (the 840k set's size),
width 256, 10k steps of 512 (12 epochs). Measured (dev CPU, mean validation log2-MSE over the 21 groups): 0.200 at
the default scale and 0.152 at `paper_scale`, against the published 0.88 (MoE) / 1.13 (ResNet) and the constant
per-group baseline 1.33 / 1.36; per-group tables in benchmarks/RESULTS.md, docs/presets.md.

`mheight_grokking` (the study of §4.6 "grokking side study"): 5k rows per group, one ResNet+LayerNorm expert
(width 384, 5 blocks), AdamW, batch 4096, long training, every parameter's norm logged (`layer_norms`) next
to the total weight norm, so the training-loss spike at the transition can be lined up with the norms
(`groklab plot RUN` / `groklab detect RUN`, which flags loss spikes next to weight-norm changes).
The published runs grokked at wd 0.01 (~epoch 780, best val ~1.3) and 0.03 (~epoch 520,
~2.0), not at 0.1; run the sweep with `groklab sweep mheight_grokking optim.weight_decay=0.01,0.03,0.1`.
One epoch is 105,000 / 4,096 ≈ 26 steps, so the published 10k epochs are `train.steps=256000`.
"""

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Preset

PAPER = ("CSCE 636 m-height project (Texas A&M, A. Jiang), eothL/m-height-problem-DNN-project results as "
         "collected in mheight.md §4.6")

PRESET = Preset(
    name="mheight",
    paper=PAPER,
    reproduces="§4.6: validation log2-MSE per (n, k, m) group and its mean over the 21 groups; published ResNet "
    "1.13, best MoE 0.88 (easy groups 0.08-0.15, m = n-k groups 2.0-2.7); issue 17 target <= 0.25 at 20k/group",
    config=RunConfig(
        name="mheight",
        task=TaskConfig(name="mheight", op="mheight", p=None, groups="all", per_group=2_000, val_per_group=500,
                        features="minors+ratios"),
        model=ModelConfig(name="group_heads", d_model=128, d_mlp=128, n_layers=3, act="gelu"),
        optim=OptimConfig(name="adamw", lr=1e-3, weight_decay=1e-4, beta1=0.9, beta2=0.999, warmup_steps=200),
        train=TrainConfig(steps=3_000, batch_size="512", eval_every=250, loss="mse", probes="mheight_groups",
                          checkpoint_every=1_000),
    ),
    paper_scale=("task.per_group=20000", "task.val_per_group=2000", "model.d_model=256", "model.d_mlp=256",
                 "train.steps=10000", "train.eval_every=500", "train.checkpoint_every=2000"),
)

GROKKING = Preset(
    name="mheight_grokking",
    paper=PAPER,
    reproduces="§4.6 grokking side study: ResNet+LayerNorm on 5k/group; grokking at wd 0.01 (~epoch 780, best val "
    "~1.3) and 0.03 (~epoch 520, ~2.0), none at 0.1; examine the training-loss spike against the weight norms",
    config=RunConfig(
        name="mheight_grokking",
        task=TaskConfig(name="mheight", op="mheight", p=None, groups="all", per_group=5_000, val_per_group=500),
        model=ModelConfig(name="resnet_mlp", d_model=384, d_mlp=384, n_layers=5),
        optim=OptimConfig(name="adamw", lr=1e-3, weight_decay=0.01, beta1=0.9, beta2=0.999, warmup_steps=100),
        train=TrainConfig(steps=20_000, batch_size="4096", eval_every=200, loss="mse",
                          probes="layer_norms,mheight_groups", checkpoint_every=2_000),
    ),
    paper_scale=("train.steps=256000", "train.eval_every=1000", "train.checkpoint_every=10000"),
)
