"""The m-height study (mheight.md §4): predict log2 h_m of [I_k | P] over the 21 course groups.

`mheight` (best accuracy): inputs that carry the structure of the height instead of raw P
(`task.features=minors+ratios`, groklab.mheight.features): the sorted log2 |minors| of P of every size and the sorted
log2 Cramer ratios ||G_I^-1 g_i||_1, both invariant under the symmetries of P (§7.7); the model is `group_heads`, a
residual MLP with one head and one label scale per (n, k, m) group, trained on log2-MSE with per-group validation
log2-MSE at every evaluation (`val/mse/n,k,m`, `val/course_mse`). The largest Cramer ratio *is* h_{n-k} (§2.3
closed form), so the six m = n-k groups come down to passing one input through; `task.features=minors` leaves that
out and measures what the minors alone carry. The default is CI-sized (2,000 training rows per group generated on
first use, width 128, 3k steps); `paper_scale` is the course's 20k training rows per group (the 840k set's size),
width 256, 10k steps of 512 (12 epochs). Measured (dev CPU, validation log2-MSE): over the 15 groups with m < n-k
(the headline: where the height is not an input) 0.275 at the default scale and 0.210 at `paper_scale`, against
their constant per-group baseline 0.51 / 0.52 and ≈0.32 derived for the published best (groklab.mheight.metric);
over all 21 groups 0.200 / 0.152 against the published 0.88 (MoE) / 1.13 (ResNet), whose six m = n-k groups had
to be learnt. The probe logs both (`val/course_mse`, `val/course_mse_m<n-k`); per-group tables in
benchmarks/RESULTS.md, docs/presets.md.

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

from groklab.config import RunConfig, TrainConfig
from groklab.io import finite
from groklab.mheight.metric import PUBLISHED_BELOW_MDS_MEAN, PUBLISHED_MEAN, headline
from groklab.models.heads import GroupHeadsConfig
from groklab.models.moe import ResidualMLPConfig
from groklab.optim.adam import AdamConfig
from groklab.presets.base import Arm, Check, Headline, Preset, conclude, register
from groklab.presets.evidence import detection, fmt, need, status_ok, values
from groklab.runs import Run
from groklab.tasks.mheight import MheightConfig

PAPER = ("CSCE 636 m-height project (Texas A&M, A. Jiang): the course's published results (GitHub "
         "eothL/m-height-problem-DNN-project)")

# CI scale (the claim at small scale): four groups (three easy-to-medium, one m = n-k), 800 generated rows
# each, width 64, 400 steps (~40 s of a core for both arms): the recipe against the ResNet on raw P.
CI = {"task.groups": "9,4,2;9,5,3;10,4,4;10,6,4", "task.per_group": 800, "task.val_per_group": 300,
      "model.d_model": 64, "model.d_mlp": 64, "model.n_layers": 2, "train.batch_size": "128", "train.steps": 400,
      "train.eval_every": 50, "train.checkpoint_every": 400, "train.device": "cpu"}
RAW = {"model.name": "resnet_mlp", "task.features": "raw"}  # the published inputs and model (mheight.md §4.6)
# The recipe's bound on the groups with m < n-k, x their group-mean baseline (measured at CI scale: 0.272 against
# 0.453, 0.60 x; the raw-P ResNet ends at 0.492, 1.09 x).
LEARNT_RATIO = 0.8


def group_mse(final: Mapping[str, Any]) -> dict[tuple[int, int, int], float]:
    """{(n, k, m): val log2-MSE} from the `mheight_groups` probe's keys `val/mse/n,k,m`."""
    out = {}
    for key, value in final.items():
        if key.startswith("val/mse/") and isinstance(value, int | float):
            n, k, m = (int(x) for x in key.rsplit("/", 1)[1].split(","))
            out[(n, k, m)] = float(value)
    return out


def baseline_of(run: Run) -> float | None:
    """The run's per-group-mean validation log2-MSE (summary.json `baseline`, tasks.base.trivial_baseline)."""
    return finite((run.summary.get("baseline") or {}).get("val/loss"))


def below_mds_figures(run: Run) -> tuple[float | None, float | None]:
    """(final val log2-MSE, group-mean baseline) averaged over the groups with m < n-k: the honest headline, where
    the height is not one of the recipe's inputs (groklab.mheight.metric.headline)."""
    per = (run.summary.get("baseline") or {}).get("val/loss per group") or {}
    base = headline({tuple(int(v) for v in g.split(",")): x for g, x in per.items()}).get("m<n-k")
    return finite((run.summary.get("final") or {}).get("val/course_mse_m<n-k")), finite(base)


TARGET = 0.25  # the target for the 21-group mean at the course's 20k rows per group


def check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """The recipe (arm `recipe`: sorted minors and Cramer ratios, per-group heads) ends below 0.4x the
    per-group-mean baseline, its course score the plain mean of the group scores, and below LEARNT_RATIO x the
    baseline on the groups with m < n-k alone (the m = n-k group's height is one of its inputs); where the arm
    `raw` (ResNet on raw P) is given, it never gets below 0.9x the baseline (benchmarks/RESULTS.md). With all 21 groups
    the scores must also beat the published best (`published_conditions`); with fewer (CI) that is named as not
    asserted."""
    need(runs, "recipe")
    run = runs["recipe"]
    final = run.summary.get("final") or {}
    groups = group_mse(final)
    mean = sum(groups.values()) / len(groups) if groups else None
    course, base = final.get("val/course_mse"), baseline_of(run)
    conditions = [
        status_ok(run, "recipe"),
        (base is not None and course is not None and course < 0.4 * base,
         f"recipe: course log2-MSE {fmt(course)} against the per-group baseline {fmt(base)}"),
        (mean is not None and course is not None and abs(course - mean) <= 1e-6 * max(1.0, abs(mean)),
         f"course score the mean over {len(groups)} groups")]
    learnt, learnt_base = below_mds_figures(run)
    conditions.append((learnt is not None and learnt_base is not None and learnt < LEARNT_RATIO * learnt_base,
                       f"recipe on the groups with m < n-k: log2-MSE {fmt(learnt)} against their baseline "
                       f"{fmt(learnt_base)}"))
    raw_best = min(values(runs["raw"], "val/course_mse"), default=None) if "raw" in runs else None
    if "raw" in runs:
        raw_base = baseline_of(runs["raw"])
        conditions += [status_ok(runs["raw"], "raw"),
                       (raw_best is not None and raw_base is not None and raw_best > 0.9 * raw_base,
                        f"raw P: best course log2-MSE {fmt(raw_best)} against {fmt(raw_base)}")]
    found, missing = published_conditions(groups, course, learnt)
    conditions += found
    return conclude(
        "features that carry the height's structure learn every group where the ResNet on raw P stays at the "
        "per-group mean", conditions,
        {"course_mse": course, "baseline": base, "course_mse_m<n-k": learnt, "baseline_m<n-k": learnt_base,
         "raw_best": raw_best, "groups": {",".join(map(str, g)): v for g, v in sorted(groups.items())}},
        not_asserted=missing, headline=headlines(groups, learnt, course))


def published_conditions(groups: Mapping[tuple[int, int, int], float], course: float | None, learnt: float | None
                         ) -> tuple[list[tuple[bool, str]], list[str]]:
    """With all 21 groups: the recipe beats the published best on the 15 groups with m < n-k and on all 21, and
    meets the target on all 21. With fewer (CI) these are not asserted (the second list says why)."""
    if len(groups) < 21:
        return [], [f"the scores against the published best (15 groups with m < n-k: "
                    f"{PUBLISHED_BELOW_MDS_MEAN:.2f}; 21 groups: {PUBLISHED_MEAN:g}) and the target {TARGET:g}: this "
                    f"scale has {len(groups)} groups (--scale paper; measured 0.210 and 0.152 there)"]
    return [(learnt is not None and learnt < PUBLISHED_BELOW_MDS_MEAN,
             f"log2-MSE {fmt(learnt)} over the groups with m < n-k (published {PUBLISHED_BELOW_MDS_MEAN:.2f})"),
            (course is not None and course <= TARGET and course < PUBLISHED_MEAN,
             f"log2-MSE {fmt(course)} over 21 groups (target <= {TARGET:g}; published {PUBLISHED_MEAN:g})")], []


def headlines(groups: Mapping[tuple[int, int, int], float], learnt: float | None, course: float | None
              ) -> tuple[Headline, ...]:
    """The published best beside ours, each saying which groups it averages: the 15 groups with
    m < n-k first (where both learn), then all groups (where the recipe passes the m = n-k heights through)."""
    n_learnt = sum(1 for n, k, m in groups if m < n - k)
    return (Headline("val log2-MSE, mean over the groups with m < n-k", round(PUBLISHED_BELOW_MDS_MEAN, 3), learnt,
                     note=f"paper: its 15, derived from 0.88 and its six m = n-k figures; ours: {n_learnt} groups"),
            Headline("val log2-MSE, mean over all groups", PUBLISHED_MEAN, course,
                     note=f"paper: 21 groups; ours: {len(groups)}, whose m = n-k heights are an input"))


def grokking_check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """The study's claim (§4.6): the detector finds grokking (a delayed val-loss drop, relative to the trivial
    baseline when the run knows it) at wd 0.01 and 0.03 and not at 0.1."""
    need(runs, "wd0.01", "wd0.03", "wd0.1")
    found = {name: detection(runs[name]) for name in ("wd0.01", "wd0.03", "wd0.1")}
    verdicts = {name: d["verdict"] for name, d in found.items()}
    best = {name: min(values(runs[name], "val/loss"), default=None) for name in found}
    return conclude(
        "grokking at weight decay 0.01 and 0.03, none at 0.1",
        [(verdicts["wd0.01"] == "grokking", f"wd 0.01: {verdicts['wd0.01']}"),
         (verdicts["wd0.03"] == "grokking", f"wd 0.03: {verdicts['wd0.03']}"),
         (verdicts["wd0.1"] != "grokking", f"wd 0.1: {verdicts['wd0.1']}")],
        {f"{name}_verdict": v for name, v in verdicts.items()},
        headline=[Headline("wd 0.01: best val log2-MSE", "~1.3 (at ~epoch 780)", best["wd0.01"]),
                  Headline("wd 0.03: best val log2-MSE", "~2.0 (at ~epoch 520)", best["wd0.03"]),
                  Headline("verdicts at wd 0.01 / 0.03 / 0.1", "grokking / grokking / none",
                           " / ".join(verdicts.values()))])


PRESET = Preset(
    name="mheight",
    paper=PAPER,
    reproduces="validation log2-MSE per (n, k, m) group, its mean over the 15 groups with m < n-k (the "
    "headline; ≈0.32 derived for the published best) and over all 21 (published ResNet 1.13, best MoE 0.88: easy "
    "groups 0.08-0.15, m = n-k groups 2.0-2.7); our target <= 0.25 at 20k/group",
    config=RunConfig(
        name="mheight",
        task=MheightConfig(groups="all", per_group=2_000, val_per_group=500, features="minors+ratios"),
        model=GroupHeadsConfig(name="group_heads", d_model=128, d_mlp=128, n_layers=3, act="gelu"),
        optim=AdamConfig(name="adamw", lr=1e-3, weight_decay=1e-4, beta1=0.9, beta2=0.999, warmup_steps=200),
        train=TrainConfig(steps=3_000, batch_size="512", eval_every=250, loss="mse", probes="mheight_groups",
                          checkpoint_every=1_000),
    ),
    paper_scale=("task.per_group=20000", "task.val_per_group=2000", "model.d_model=256", "model.d_mlp=256",
                 "train.steps=10000", "train.eval_every=500", "train.checkpoint_every=2000"),
    # paper scale: the recipe alone (measured 0.210 over the 15 groups with m < n-k against their baseline 0.52;
    # 0.152 over all 21 against 1.36); raw P there is not measured
    arms={"ci": (Arm("recipe", CI), Arm("raw", CI | RAW)), "paper": (Arm("recipe"),)},
    check=check,
    measured_at={"ci": "4 groups (9,4,2; 9,5,3; 10,4,4; 10,6,4), 800 rows each, width 64, 400 steps",
                 "paper": "21 groups, 20k rows each, width 256, 10k steps"},
)

GROKKING = Preset(
    name="mheight_grokking",
    paper=PAPER,
    reproduces="the course's grokking side study: ResNet+LayerNorm on 5k/group; grokking at wd 0.01 (~epoch 780, "
    "best val ~1.3) and 0.03 (~epoch 520, ~2.0), none at 0.1; examine the training-loss spike against the weight norms",
    config=RunConfig(
        name="mheight_grokking",
        task=MheightConfig(groups="all", per_group=5_000, val_per_group=500),
        model=ResidualMLPConfig(name="resnet_mlp", d_model=384, d_mlp=384, n_layers=5),
        optim=AdamConfig(name="adamw", lr=1e-3, weight_decay=0.01, beta1=0.9, beta2=0.999, warmup_steps=100),
        train=TrainConfig(steps=20_000, batch_size="4096", eval_every=200, loss="mse",
                          probes="layer_norms,mheight_groups", checkpoint_every=2_000),
    ),
    paper_scale=("train.steps=256000", "train.eval_every=1000", "train.checkpoint_every=10000"),
    arms={"paper": tuple(Arm(f"wd{wd}", {"optim.weight_decay": wd}) for wd in (0.01, 0.03, 0.1))},
    check=grokking_check,
    note={"ci": "the claim needs 5,000 rows per group and ~10,000 epochs (hours on a GPU): run --scale paper"},
)

register(PRESET, GROKKING)
