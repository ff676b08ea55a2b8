"""Power, Burda, Edwards, Babuschkin, Misra 2022, "Grokking: Generalization beyond overfitting on small
algorithmic datasets" (arXiv 2201.02177); papers.md §01.

x/y mod 97 (p(p-1) = 9,312 pairs), 50% for training, `[a, op, b, =]`, the 2-layer post-LN transformer (d 128,
4 heads, FFN 512, ~4e5 non-embedding parameters), AdamW lr 1e-3, wd 1, betas (0.9, 0.98), 10 warm-up steps,
minibatch min(512, N/2). The paper's budget is 1e5 updates; with wd 1 validation accuracy passes 99% after a few
thousand (measured on the dev CPU, seed 0: train acc 0.99 from step ~1,000, val acc 0.99 first at step 3,400), so
the default run stops once its verdict is settled: val acc >= 0.99 held for the detector's patience (3
evaluations) and 2 more (`train.stop_when`), with 10,000 steps as the cap. Every operation and S5 task is
`task.op`.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any

from groklab.analysis.detect import DetectConfig
from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Arm, Check, Preset, conclude
from groklab.presets.evidence import first_at, fmt, last_step, need, status_ok, values
from groklab.runs import Run

# CI scale: Power's post-LN transformer cut to one layer of d_model 64 on (a + b) mod 41, half the pairs, full
# batch, AdamW lr 3e-3, wd 2: measured over seeds 0-3, train acc 0.99 at steps 120-140 and val acc 0.99 at steps
# 820-1,040 (6-8x later); ~25 s of one core.
SMALL = {
    "task.op": "x+y", "task.p": 41, "model.n_layers": 1, "model.d_model": 64, "model.d_mlp": 256,
    "optim.lr": 3e-3, "optim.weight_decay": 2.0, "train.batch_size": "full", "train.steps": 1000,
    "train.eval_every": 20, "train.log_checkpoints": 0, "train.checkpoint_every": 1000, "train.device": "cpu",
}


def check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """Delayed generalization: train acc reaches 0.99, and val acc reaches 0.99 at least 3x later (papers.md §01:
    first evaluations at each level, as summary.json's `thresholds`)."""
    need(runs, "run")
    run = runs["run"]
    train99, val99 = first_at(run, "train/acc", 0.99), first_at(run, "val/acc", 0.99)
    ratio = val99 / train99 if train99 and val99 else None
    return conclude(
        "val acc reaches 0.99 at least 3x later than train acc (delayed generalization)",
        [status_ok(run, "run"),
         (train99 is not None, f"train acc 0.99 at step {fmt(train99)}"),
         (val99 is not None, f"val acc 0.99 at step {fmt(val99)}"),
         (ratio is not None and ratio >= 3, f"{fmt(ratio)}x later (needs >= 3)")],
        {"train99": train99, "val99": val99, "ratio": ratio})

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
        train=TrainConfig(steps=10_000, batch_size="auto", eval_every=100, stop_when="val/acc>=0.99",
                          stop_after=DetectConfig().patience + 2),
    ),
    paper_scale=("train.steps=100000",),
    arms={"ci": (Arm("run", SMALL),), "paper": (Arm("run"),)},
    check=check,
)

# Figure 1 at CI scale: x/y mod 41 with the one-layer d_model-64 net, full batch, plain Adam without weight decay.
# Measured (seed 0): train acc 0.99 at step 350, val acc 0.03 (chance 0.024) after 3,000 steps; 2,000 steps here.
FIG1_SMALL = {"task.p": 41, "model.n_layers": 1, "model.d_model": 64, "model.d_mlp": 256, "train.batch_size": "full",
              "train.steps": 2000, "train.eval_every": 50, "train.log_checkpoints": 0, "train.checkpoint_every": 2000,
              "train.device": "cpu"}


def fig1_check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """Fig. 1: train acc 0.99 before step 1,000; val acc 0.99 only >= 100x later (the paper: ~1e6 steps), or, on
    a budget too short for that, not at all, with the budget >= 5x the fit step and val acc <= 0.2 throughout
    (chance is 1/p: 0.024 at p 41; measured <= 0.05)."""
    need(runs, "run")
    run = runs["run"]
    train99, val99 = first_at(run, "train/acc", 0.99), first_at(run, "val/acc", 0.99)
    budget, peak = last_step(run), max(values(run, "val/acc"), default=None)
    if val99 is not None:
        late = (train99 is not None and val99 >= 100 * train99, f"val acc 0.99 at step {fmt(val99)} "
                f"({fmt(val99 / train99 if train99 else None)}x later; needs >= 100x)")
    else:
        late = (train99 is not None and budget >= 5 * train99 and peak is not None and peak <= 0.2,
                f"val acc never 0.99 in {fmt(budget)} steps ({fmt(budget / train99 if train99 else None)}x the fit), "
                f"at most {fmt(peak)}")
    return conclude(
        "without weight decay train acc reaches 0.99 before step 1,000 and val acc stays low for orders of magnitude "
        "longer (the paper: ~1e6 steps)",
        [status_ok(run, "run"), (train99 is not None and train99 < 1000, f"train acc 0.99 at step {fmt(train99)}"),
         late],
        {"train99": train99, "val99": val99, "steps": budget, "max_val_acc": peak})


# Figure 1 (the famous curve): plain Adam, no weight decay, 1e6 updates. GPU scale: train acc ~1 before 1e3
# steps, val acc near 1 only close to 1e6 (papers.md §01 "Headline results"). The stop rule is power2022's: a run
# that groks stops once val acc >= 0.99 has held 5 evaluations.
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
    arms={"ci": (Arm("run", FIG1_SMALL),), "paper": (Arm("run"),)},
    check=fig1_check,
)
