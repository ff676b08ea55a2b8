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

from collections.abc import Mapping
from typing import Any

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Arm, Check, Preset, conclude
from groklab.presets.evidence import detection, fmt, need, status_ok, values
from groklab.runs import Run

PAPER = ("CSCE 636 m-height project (Texas A&M, A. Jiang), eothL/m-height-problem-DNN-project results as "
         "collected in mheight.md §4.6")

# CI scale: three groups (two easy, one m = n-k), 60 generated rows each, a narrow MoE, 300 steps (seconds).
CI = {"task.groups": "9,4,2;9,4,5;10,5,3", "task.per_group": 60, "task.val_per_group": 20, "model.d_model": 32,
      "model.d_mlp": 32, "model.n_layers": 2, "model.n_experts": 3, "train.batch_size": "64", "train.steps": 300,
      "train.eval_every": 50, "train.checkpoint_every": 300, "train.log_checkpoints": 0, "train.device": "cpu",
      "optim.lr": 3e-3}


def group_mse(final: Mapping[str, Any]) -> dict[tuple[int, int, int], float]:
    """{(n, k, m): val log2-MSE} from the `mheight_groups` probe's keys `val/mse/n,k,m`."""
    out = {}
    for key, value in final.items():
        if key.startswith("val/mse/") and isinstance(value, int | float):
            n, k, m = (int(x) for x in key.rsplit("/", 1)[1].split(","))
            out[(n, k, m)] = float(value)
    return out


def check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """§4.6's pattern: the regressor learns (val log2-MSE below half its first value), the course score is the
    plain mean of the group scores, and every m = n-k group is harder than every other group."""
    need(runs, "run")
    run = runs["run"]
    val = values(run, "val/loss")
    final = run.summary.get("final") or {}
    groups = group_mse(final)
    hard = [v for (n, k, m), v in groups.items() if m == n - k]
    easy = [v for (n, k, m), v in groups.items() if m < n - k]
    mean = sum(groups.values()) / len(groups) if groups else None
    course = final.get("val/course_mse")
    return conclude(
        "validation log2-MSE per (n, k, m) group: learnt, with the m = n-k groups the hardest (§4.6)",
        [status_ok(run, "run"),
         (len(val) > 1 and val[-1] < 0.5 * val[0], f"val log2-MSE {fmt(val[0] if val else None)} -> "
          f"{fmt(val[-1] if val else None)}"),
         (mean is not None and course is not None and abs(course - mean) <= 1e-6 * max(1.0, abs(mean)),
          f"course mean {fmt(course)} over {len(groups)} groups"),
         (bool(hard) and bool(easy) and min(hard) > max(easy),
          f"m = n-k groups {fmt(min(hard, default=None))}+ vs others <= {fmt(max(easy, default=None))}")],
        {"val_start": val[0] if val else None, "val_end": val[-1] if val else None, "course_mse": course,
         "groups": {",".join(map(str, g)): v for g, v in sorted(groups.items())},
         "detector": detection(run)["verdict"]})


def grokking_check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """The study's claim (§4.6): the detector finds grokking (a delayed val-loss drop) at wd 0.01 and 0.03 and
    not at 0.1."""
    need(runs, "wd0.01", "wd0.03", "wd0.1")
    verdicts = {name: detection(runs[name])["verdict"] for name in ("wd0.01", "wd0.03", "wd0.1")}
    return conclude(
        "grokking at weight decay 0.01 and 0.03, none at 0.1",
        [(verdicts["wd0.01"] == "grokking", f"wd 0.01: {verdicts['wd0.01']}"),
         (verdicts["wd0.03"] == "grokking", f"wd 0.03: {verdicts['wd0.03']}"),
         (verdicts["wd0.1"] != "grokking", f"wd 0.1: {verdicts['wd0.1']}")],
        {f"{name}_verdict": v for name, v in verdicts.items()})


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
    arms={"ci": (Arm("run", CI),), "paper": (Arm("run"),)},
    check=check,
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
    arms={"paper": tuple(Arm(f"wd{wd}", {"optim.weight_decay": wd}) for wd in (0.01, 0.03, 0.1))},
    check=grokking_check,
    note={"ci": "the claim needs 5,000 rows per group and ~10,000 epochs (hours on a GPU): run --scale paper"},
)
