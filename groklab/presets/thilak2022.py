"""Thilak, Littwin, Zhai, Saremi, Paiss, Susskind 2022, "The Slingshot Mechanism: An Empirical Study of Adaptive
Optimizers and the Grokking Phenomenon" (arXiv 2206.04817); papers.md §07. No official code exists.

The Slingshot: late in training with Adam and no weight decay, once the float32 training loss is driven to
~1e-7, it spikes by orders of magnitude and the norm of the last layer's weights jumps (Fig. 1: cycles of norm
growth, loss spike, plateau). The last-layer norm is logged at every step (`last_layer_norm` probe,
`train.eval_every=1`) and `groklab.analysis.detect` finds the spikes. The paper's algorithmic runs reuse Power's
transformer (from memory, unverified); the CI-scale default here is the cheapest network that slingshots in a
few thousand full-batch steps: the bias-free ReLU MLP on concatenated one-hots of (a + b) mod 23 (Prieto 2025's
model, 40% of the pairs), plain Adam lr 1e-2, betas (0.9, 0.99), eps 1e-8, float32 loss.
"""

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Preset

PRESET = Preset(
    name="thilak2022",
    paper="Thilak et al. 2022, The Slingshot Mechanism: An Empirical Study of Adaptive Optimizers and the "
    "Grokking Phenomenon (arXiv 2206.04817)",
    reproduces="Fig. 1: with Adam and no weight decay the float32 training loss spikes from ~1e-7 and the "
    "last-layer weight norm jumps (a Slingshot)",
    config=RunConfig(
        name="thilak2022",
        task=TaskConfig(name="multiterm", op="sum", p=23, terms=2, train_frac=0.4),
        model=ModelConfig(name="mlp_concat", n_layers=2, d_mlp=200, act="relu", bias=False),
        optim=OptimConfig(name="adam", lr=1e-2, weight_decay=0.0, beta1=0.9, beta2=0.99, eps=1e-8, warmup_steps=0),
        train=TrainConfig(steps=2_000, batch_size="full", eval_every=1, loss="ce", loss_dtype="float32",
                          probes="last_layer_norm", log_checkpoints=0, checkpoint_every=2_000),
    ),
    paper_scale=("model.name=power_transformer", "task.name=modular", "task.op=x/y", "task.p=97",
                 "task.train_frac=0.5", "model.d_model=128", "model.n_layers=2", "optim.beta2=0.98",
                 "train.batch_size=512", "train.steps=100000"),
)
