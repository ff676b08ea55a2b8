"""Lee, Kang, Kim, Lee 2024, "Grokfast: Accelerated Grokking by Amplifying Slow Gradients" (arXiv 2405.20233);
papers.md Extra A.

The algorithmic recipe of the reference `ironjr/grokfast/main.py` (teddykoker's script): x·y mod 97, 50/50
split, `[x, op, y, =]`, a 2-layer pre-LN decoder with a final LayerNorm, GELU, d 128, 4 heads, FFN 512, learned
positions (our `gpt2_transformer`); `torch.optim.Adam` with *coupled* L2 weight decay (`optim.name=adam`), lr 1e-3,
betas (0.9, 0.98), 10 warm-up steps, batch 512. Grokfast-EMA α 0.98, λ 2, wd 0.005 (README command); the MA
variant uses w 100, λ 5, wd 0.01. Table 3: val acc ≥ 0.95 after 39,890 iterations without the filter, 910 with
EMA (×43.8), 790 with MA (×50.5).
"""

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from groklab.config import RunConfig, TrainConfig
from groklab.models.gpt2 import GPT2Config
from groklab.optim.adam import AdamConfig
from groklab.presets.base import Arm, Check, Headline, Preset, conclude, register
from groklab.presets.evidence import fmt, held_from, last_step, need, status_ok, values
from groklab.runs import Run
from groklab.tasks.modular import ModularConfig

# CI scale: the paper's recipe with the decoder cut to one layer (a third of the cost). Measured: with the EMA
# filter val acc passes 0.95 at step 1,000 (train acc 0.99 at 940: no delay left); without it val acc is 0.05
# after 3,000 steps (the paper's 2-layer baseline needs 39,890); ~165 s of one core for both. Continued to 6,000
# steps the baseline is at train acc 0.38, val acc 0.20 (seed 0): at this scale it does not reach the level in any
# budget CI can afford, so the speed-up is not asserted there (`partial`); --scale paper runs the 300k-step one.
CI = {"model.n_layers": 1, "train.eval_every": 20, "train.log_checkpoints": 0, "train.checkpoint_every": 1200,
      "train.device": "cpu", "train.steps": 1200}
NO_FILTER = CI | {"name": "grokfast2024", "optim.grokfast": "none", "optim.grokfast_lamb": 2.0,
                  "optim.weight_decay": 0.005, "train.steps": 3000, "train.checkpoint_every": 3000,
                  "train.eval_every": 100}


def speedup(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None, factor: float = 3.0,
            paper: tuple[int, int] = (910, 39_890)) -> Check:
    """Grokfast's speed-up (Table 3) as a ratio of measured steps: the filtered run holds val acc 0.95 from step s;
    the run without the filter completes, fits training (train acc 0.99 held) and holds val acc 0.95 from step
    b, with b >= `factor` x s. A baseline that does not reach the level within its budget gives no ratio (its
    budget is no figure): the speed-up is then named as not asserted (`partial`), with the baseline's best val
    acc. `paper`: Table 3's steps (with the filter, without)."""
    need(runs, "filter", "no_filter")
    fast, slow = runs["filter"], runs["no_filter"]
    s, b = held_from(fast, "val/acc", LEVEL), held_from(slow, "val/acc", LEVEL)
    budget, best = last_step(slow), max(values(slow, "val/acc"), default=None)
    ratio = b / s if b is not None and s else None
    conditions = [status_ok(fast, "filter"), status_ok(slow, "no_filter"),
                  (s is not None, f"filter: val acc {LEVEL:g} held from step {fmt(s)}")]
    missing = []
    if b is None:
        missing.append(f"the speed-up: without the filter val acc is at most {fmt(best)} after {fmt(budget)} steps "
                       f"(the paper's baseline needs {paper[1]:,}; --scale paper)")
    else:
        fit = held_from(slow, "train/acc", 0.99)
        conditions += [(fit is not None, f"no filter: train acc 0.99 held from step {fmt(fit)}"),
                       (b is not None, f"no filter: val acc {LEVEL:g} held from step {fmt(b)} of {fmt(budget)}"),
                       (ratio is not None and ratio >= factor, f"speed-up {fmt(ratio)}x (needs >= {factor:g}x)")]
    sooner = f"at least {factor:g}x sooner" if factor > 1 else "sooner"
    return conclude(
        f"with the filter val acc reaches {LEVEL:g} {sooner} than without it, the run without it reaching it too",
        conditions,
        {"filter_val95": s, "no_filter_val95": b, "no_filter_steps": budget, "no_filter_best_val": best,
         "speedup": ratio},
        not_asserted=missing,
        headline=[Headline("steps to val acc 0.95 with the filter", paper[0], s),
                  Headline("steps to val acc 0.95 without it", paper[1], b,
                           note="" if b else f"not reached in {fmt(budget)}; best {fmt(best)}"),
                  Headline("speed-up", round(paper[1] / paper[0], 1), round(ratio, 2) if ratio else None, "x")])


LEVEL = 0.95  # Table 3: iterations to val acc >= 0.95


check = functools.partial(speedup, factor=3.0)
# Grokfast-MA at CI scale (one layer, the paper's MA recipe): measured val acc 0.95 at step 2,250 (train acc 0.99
# at 2,250 too), while the shared run without the filter is at 0.05 after 3,000 steps: as for EMA, the speed-up
# (Table 3: 50.5x) needs the 2-layer net and the 40k-step baseline (--scale paper).
MA_CI = CI | {"train.steps": 2600, "train.checkpoint_every": 2600, "train.eval_every": 50}

PAPER = "Lee et al. 2024, Grokfast: Accelerated grokking by amplifying slow gradients (arXiv 2405.20233)"

PRESET = Preset(
    name="grokfast2024",
    paper=PAPER,
    reproduces="Table 3: x*y mod 97, val acc >= 0.95 after 910 steps with Grokfast-EMA vs 39,890 without (x43.8)",
    config=RunConfig(
        name="grokfast2024",
        task=ModularConfig(op="x*y", p=97, train_frac=0.5, layout="a_op_b_eq"),
        model=GPT2Config(name="gpt2_transformer", n_layers=2, d_model=128, n_heads=4, d_mlp=512, act="gelu"),
        optim=AdamConfig(name="adam", lr=1e-3, weight_decay=0.005, beta1=0.9, beta2=0.98, warmup_steps=10,
                         grokfast="ema", grokfast_alpha=0.98, grokfast_lamb=2.0),
        train=TrainConfig(steps=3_000, batch_size="512", eval_every=10),
    ),
    paper_scale=("train.steps=100000", "train.eval_every=100"),
    arms={"ci": (Arm("filter", CI), Arm("no_filter", NO_FILTER)),
          "paper": (Arm("filter"), Arm("no_filter", {"optim.grokfast": "none", "optim.weight_decay": 0.0,
                                                     "train.steps": 300_000}))},
    check=check,
    measured_at={"ci": "x*y mod 97, 50%, the recipe with 1 decoder layer; EMA 1,200 steps, baseline 3,000",
                 "paper": "the paper's 2-layer recipe; baseline 300,000 steps"},
)

# Grokfast-MA (Table 3: 790 iterations): window 100, λ 5, wd 0.01.
MA = Preset(
    name="grokfast2024_ma",
    paper=PAPER,
    reproduces="Table 3: x*y mod 97, val acc >= 0.95 after 790 steps with Grokfast-MA (w 100, λ 5) (x50.5)",
    config=dataclasses.replace(
        PRESET.config, name="grokfast2024_ma",
        optim=dataclasses.replace(PRESET.config.optim, grokfast="ma", grokfast_window=100, grokfast_lamb=5.0,
                                  weight_decay=0.01),
    ),
    paper_scale=PRESET.paper_scale,
    arms={"ci": (Arm("filter", MA_CI), Arm("no_filter", NO_FILTER)),
          "paper": (Arm("filter"), Arm("no_filter", dict(PRESET.arms["paper"][1].overrides) | {
              "name": "grokfast2024", "optim.grokfast_lamb": 2.0}))},
    check=functools.partial(speedup, factor=3.0, paper=(790, 39_890)),
    measured_at={"ci": "x*y mod 97, 50%, the recipe with 1 decoder layer; MA 2,600 steps, baseline 3,000",
                 "paper": "the paper's 2-layer recipe; baseline 300,000 steps"},
)

register(PRESET, MA)
