"""The m-height study (issue 4; mheight.md §4): predict log2 h_m of [I_k | P] over the 21 course groups.

`mheight` (best accuracy): the sparse MoE of residual-MLP experts gated on (n, k), top-2 of 6, the
architecture of the best published result (0.88 val log2-MSE; ResNet alone 1.13, §4.6), trained on log2-MSE
with per-group validation log2-MSE logged at every evaluation (`val/mse/n,k,m`, `val/course_mse`). The default
is CI-sized (500 rows per group generated on first use, narrow experts, 3k steps); `paper_scale` is the 840k
set's 20k training rows per group, experts of width 64·6 = 384 (64 channels per row of P) and 5 blocks. The
published 0.88 also pre-trained each expert before fine-tuning the mixture, which this preset does not do.
Measured (benchmarks/RESULTS.md, 2,000 rows per group, CPU): MoE and ResNet both reach the group-mean
baseline (1.31) within ~500 steps and then overfit (final 1.92); `task.augment` (exact symmetry copies, §7.7),
more rows and stronger weight decay are the levers to try at scale.

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
    "1.13, best MoE 0.88 (easy groups 0.08-0.15, m = n-k groups 2.0-2.7)",
    config=RunConfig(
        name="mheight",
        task=TaskConfig(name="mheight", op="mheight", p=None, groups="all", per_group=500, val_per_group=200),
        model=ModelConfig(name="moe", d_model=128, d_mlp=128, n_layers=3, n_experts=6, top_k=2),
        optim=OptimConfig(name="adamw", lr=1e-3, weight_decay=1e-4, beta1=0.9, beta2=0.999, warmup_steps=100),
        train=TrainConfig(steps=3_000, batch_size="512", eval_every=250, loss="mse", probes="mheight_groups",
                          checkpoint_every=1_000),
    ),
    paper_scale=("task.per_group=20000", "task.val_per_group=2000", "model.d_model=384", "model.d_mlp=384",
                 "model.n_layers=5", "train.batch_size=1024", "train.steps=200000", "train.eval_every=2000"),
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
