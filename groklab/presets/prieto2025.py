"""Prieto, Barsbey, Mediano, Birdal 2025, "Grokking at the Edge of Numerical Stability" (ICLR 2025,
arXiv 2501.04697); papers.md Extra B.

(a + b) mod p on concatenated one-hots, 40% of the pairs, an MLP 2p → 200 → 200 → p with ReLU and no biases,
full-batch AdamW lr 0.01, β2 0.99, eps 1e-25 (the official default, checked in papers.md Extra B), no weight
decay. With ⊥Grad (`optim.orthograd=true`, "⊥AdamW") the model generalises within a few hundred epochs
(Fig. 1, 300 epochs); plain AdamW in float32 fits the training set, stays at chance on the test set and drives
the training samples into softmax collapse (`train/softmax_collapse`, Fig. 2). StableMax (`train.loss=stablemax`)
and the log-softmax precision (`train.loss_dtype`) are the paper's other two knobs. The CI default is p 47.
"""

import dataclasses

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Preset

PRESET = Preset(
    name="prieto2025",
    paper="Prieto et al. 2025, Grokking at the Edge of Numerical Stability (arXiv 2501.04697)",
    reproduces="Fig. 1: ⊥AdamW generalises without delay ((a+b) mod p, 40% data, test acc ~1 within 300 epochs) "
    "where float32 AdamW without weight decay stays at chance with softmax collapse",
    config=RunConfig(
        name="prieto2025",
        task=TaskConfig(name="multiterm", op="sum", p=47, terms=2, train_frac=0.4),
        model=ModelConfig(name="mlp_concat", n_layers=2, d_mlp=200, act="relu", bias=False),
        optim=OptimConfig(name="adamw", lr=1e-2, weight_decay=0.0, beta1=0.9, beta2=0.99, eps=1e-25,
                          warmup_steps=0, orthograd=True),
        train=TrainConfig(steps=300, batch_size="full", eval_every=10, loss="ce", loss_dtype="float32",
                          probes="softmax_collapse", log_checkpoints=0),
    ),
    paper_scale=("task.p=113",),
)

# The control: the same run without ⊥Grad (plain float32 AdamW, no weight decay).
BASELINE = dataclasses.replace(PRESET.config, optim=dataclasses.replace(PRESET.config.optim, orthograd=False))
