"""Nanda, Chan, Lieberum, Smith, Steinhardt 2023, "Progress measures for grokking via mechanistic
interpretability" (ICLR 2023, arXiv 2301.05217); papers.md §03.

(a + b) mod 113 read as `[a, b, =]`, 30% of the 12,769 pairs for training (3,830), a 1-layer transformer without
LayerNorm, full-batch AdamW lr 1e-3, wd 1, betas (0.9, 0.98) and 10 warm-up steps (from the code), 40k epochs.
The log-softmax is taken in float64, which the released code meant to do and did not (papers.md §03 pitfalls).
Figure 2: train loss falls by ~1.4k steps, test loss only after ~10k (phases 0-1.4k / 1.4k-9.4k / 9.4k-14k).
"""

from collections.abc import Mapping
from typing import Any

from groklab.analysis.delay import DelayRule, delay_of
from groklab.config import RunConfig, TrainConfig
from groklab.models.transformer import TransformerConfig
from groklab.optim.adam import AdamConfig
from groklab.presets.base import Arm, Check, Headline, Preset, Study, conclude, register
from groklab.presets.evidence import chance_rule, detection, fmt, last, need, status_ok
from groklab.runs import Run
from groklab.tasks.modular import ModularConfig

# CI scale: Nanda's 1-layer transformer on (a + b) mod 53 with 40% of the pairs: papers.md §03 notes that p = 53
# needs weight decay ~5 to grok; with it (seed 0, evaluated every 10 steps to time the fit) train accuracy holds 99%
# from step 130 with val acc 0.10 there (chance 0.019), val acc 0.5 at 610, 0.99 held from 810 (6.2x); ~1 min of
# one core, and 25 log-spaced checkpoints feed the progress measures. Evaluated every 50 steps the fit reads as
# step 150 with val acc 0.12, just above the rule's 0.119. At 30% of the pairs (the paper's fraction) val acc is
# 0.03 at the fit (step 125) but only 0.37 after 2,500 steps.
CI = {"task.p": 53, "task.train_frac": 0.4, "optim.weight_decay": 5.0, "train.steps": 1300, "train.eval_every": 10,
      "train.checkpoint_every": 500, "train.log_checkpoints": 25, "train.device": "cpu"}


def _rise_before_fall(rows: list[dict[str, Any]]) -> tuple[int | None, int | None]:
    """(step where the excluded train loss has doubled from its minimum, step where the test loss has halved
    from its maximum): Fig. 6/7, the circuit forms before the test loss falls."""
    excl = [r["fourier/excluded_loss_train"] for r in rows]
    test = [r["fourier/test_loss"] for r in rows]
    low, peak = excl.index(min(excl)), test.index(max(test))
    rise = next((i for i in range(low, len(rows)) if excl[i] >= 2 * excl[low]), None)
    fall = next((i for i in range(peak, len(rows)) if test[i] <= test[peak] / 2), None)
    return (None if rise is None else rows[rise]["step"]), (None if fall is None else rows[fall]["step"])


# The delay (groklab.analysis.delay): 99% on both splits, test accuracy near chance (1/p) at the fit, the test
# level >= 5x later (Fig. 2: memorisation by ~1.4k epochs, test > 95% near 10k: ~7x).
RULE = DelayRule(fit_level=0.99, gen_level=0.99, ratio=5.0, source="Nanda et al. 2023 Fig. 2")


def check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """Fig. 2 (the delay, RULE, and the detector's verdict grokking) and Figs. 5-7 (`study`: the Fourier progress
    measures of groklab.studies.progress, {"record": fourier.json, "rows": fourier.jsonl})."""
    need(runs, "run")
    run = runs["run"]
    delay = delay_of(run, chance_rule(run, RULE))
    verdict = detection(run)["verdict"]
    record, rows = (study or {}).get("record") or {}, (study or {}).get("rows") or []
    keys = record.get("key_frequencies") or []
    first, final = (rows[0], rows[-1]) if rows else ({}, {})
    rise, fall = _rise_before_fall(rows) if rows else (None, None)
    figures = {"train99": delay.fit_step, "val99": delay.gen_step, "verdict": verdict, "key_frequencies": keys,
               **{k: final.get(k) for k in ("fourier/test_loss", "fourier/restricted_loss_test",
                                            "fourier/excluded_loss_train", "fourier/train_loss")},
               "gini_W_E": [first.get("fourier/gini_W_E"), final.get("fourier/gini_W_E")],
               "gini_W_L": [first.get("fourier/gini_W_L"), final.get("fourier/gini_W_L")],
               "excluded_loss_rise_step": rise, "test_loss_fall_step": fall, **delay.figures()}
    conditions = [
        status_ok(run, "run"), (delay.holds, delay.reason),
        ((last(run, "val/acc") or 0) >= 0.99, f"final val acc {fmt(last(run, 'val/acc'))}"),
        (verdict == "grokking", f"verdict {verdict}"),
        (bool(rows), f"{len(rows)} checkpoints measured"),
    ]
    if rows:
        conditions += fourier_conditions(keys, first, final, rise, fall)
    headline = [Headline("epochs to train acc 0.99 (memorisation)", "~1,400", delay.fit_step),
                Headline("epochs to test acc 0.99", "~10,000 (third-party: test > 95% at 6.3k-8.4k)",
                         delay.gen_step),
                Headline("key frequencies", 5, len(keys) if rows else None)]
    return conclude("train acc 0.99 while test acc is near chance, test acc 0.99 >= 5x later (grokking), with a "
                    "few key frequencies carrying the solution and the circuit forming before the test loss falls",
                    conditions, figures, headline=headline)


def fourier_conditions(keys: list[int], first: dict[str, Any], final: dict[str, Any], rise: int | None,
                       fall: int | None) -> list[tuple[bool, str]]:
    """Figs. 5-7 on the progress measures: a few key frequencies, restricted loss ~ test loss, excluded loss high
    while the train loss is ~0, sparser embeddings (Gini), and the circuit (excluded loss) before the test fall."""
    return [
        (1 <= len(keys) <= 8, f"key frequencies {keys}"),
        (final["fourier/restricted_loss_test"] <= final["fourier/test_loss"] + 0.05,
         f"restricted test loss {fmt(final['fourier/restricted_loss_test'])} vs test loss "
         f"{fmt(final['fourier/test_loss'])}"),
        (final["fourier/excluded_loss_train"] > 1.0 > 100 * final["fourier/train_loss"],
         f"excluded train loss {fmt(final['fourier/excluded_loss_train'])} vs train loss "
         f"{fmt(final['fourier/train_loss'])}"),
        (final["fourier/gini_W_E"] > 2 * first["fourier/gini_W_E"]
         and final["fourier/gini_W_L"] > 2 * first["fourier/gini_W_L"],
         f"Gini W_E {fmt(first['fourier/gini_W_E'])} -> {fmt(final['fourier/gini_W_E'])}, W_L "
         f"{fmt(first['fourier/gini_W_L'])} -> {fmt(final['fourier/gini_W_L'])}"),
        (rise is not None and fall is not None and rise < fall,
         f"excluded loss doubles at step {fmt(rise)}, test loss halves at {fmt(fall)}"),
    ]

PRESET = Preset(
    name="nanda2023",
    paper="Nanda et al. 2023, Progress measures for grokking via mechanistic interpretability (arXiv 2301.05217)",
    reproduces="Fig. 2: train acc 1.0 by ~1.4k steps, test acc > 0.95 near 10k (third-party: 6.3k-8.4k)",
    config=RunConfig(
        name="nanda2023",
        task=ModularConfig(op="x+y", p=113, train_frac=0.3, layout="a_b_eq"),
        model=TransformerConfig(name="nanda_transformer", n_layers=1, d_model=128, n_heads=4, d_mlp=512),
        optim=AdamConfig(name="adamw", lr=1e-3, weight_decay=1.0, beta1=0.9, beta2=0.98, warmup_steps=10),
        train=TrainConfig(steps=40_000, batch_size="full", eval_every=100, loss_dtype="float64",
                          checkpoint_every=1_000, log_checkpoints=60),
    ),
    arms={"ci": (Arm("run", CI),), "paper": (Arm("run"),)},
    check=check,
    study=Study("fourier", "run"),
    measured_at={"ci": "p 53 (40% of pairs, wd 5: the paper's appendix setting for P=53), 1,300 epochs",
                 "paper": "the paper's setting: p 113, 30%, wd 1, 40k epochs"},
)

register(PRESET)
