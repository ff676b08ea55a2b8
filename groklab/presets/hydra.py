"""The features of the Hydra re-implementation of Power et al. 2022 (`ndtippens/grok-tests`), as presets.

That repository compared GPT-2, a value-residual GPT-2 (ResFormer / SVFormer), a "GPT-2 Meta" and BitLinear layers
on Power et al.'s tasks and on a variable-binding data set, but published no figure to reproduce, and several of
its models did not run as written. These presets are groklab's CI-scale recipes for the same comparisons; their
measured numbers are in docs/models.md.

- `hydra_gpt2`: x+y mod 31, 50% train, a 2-layer pre-LN GPT-2 (d 64, 4 heads, FFN 256, GELU), full-batch AdamW
  lr 3e-3, wd 3, 1,000 steps. Swap the model with `model.name=gpt2_resformer|gpt2_svformer|gpt2_meta` and
  `model.linear=bitlinear`; every variant fits the training set by step ~250 and generalises within the budget.
- `variable_binding`: two-hop chains of assignments among two distractors (groklab.tasks.binding), 90% of 20,000
  programs for training, a 3-layer GPT-2 (d 64, 4 heads, FFN 256, GELU), AdamW lr 3e-3, wd 0.1, batch 256, 3,000
  steps (laptop scale: ~6 min of one core); the CI test runs the one-hop task with a 2-layer model.
"""

from collections.abc import Mapping
from typing import Any

from groklab.config import RunConfig, TrainConfig
from groklab.models.gpt2 import GPT2Config
from groklab.optim.adam import AdamConfig
from groklab.presets.base import Arm, Check, Headline, Preset, conclude, register
from groklab.presets.evidence import detection, first_at, fmt, last, need, status_ok
from groklab.runs import Run
from groklab.tasks.binding import BindingConfig
from groklab.tasks.modular import ModularConfig

FAST = {"train.device": "cpu", "train.log_checkpoints": 0}
# The models compared (docs/models.md); each fits x+y mod 31 by step 100-400 and reaches val 0.99 at 450-750.
MODELS = {"gpt2": {}, "resformer": {"model.name": "gpt2_resformer"}, "svformer": {"model.name": "gpt2_svformer"},
          "meta": {"model.name": "gpt2_meta"}, "bitlinear": {"model.linear": "bitlinear"}}
# One-hop binding among three distractors with a 2-layer model: val acc 0.99 from step 300 (seed 0), ~35 s of a
# core; the preset's two-hop task takes ~6 min (val99 at step 1,900 with 3 layers).
ONE_HOP = FAST | {"task.chain": 1, "task.distractors": 3, "task.n_examples": 10_000, "task.train_frac": 0.8,
                  "model.n_layers": 2, "optim.lr": 1e-3, "train.steps": 600}


def models_check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """Every model given (any subset of the arms, at least one) fits the training set (train acc 0.99),
    generalises (val acc 0.95) and gets the verdict grokking or comprehension; a model not run is named as not
    asserted (partial)."""
    if not runs:
        return conclude("every model fits and generalises", [(False, "no runs")], {})
    conditions, figures = [], {}
    for name, run in runs.items():
        train99, val95, val99 = (first_at(run, "train/acc", 0.99), first_at(run, "val/acc", 0.95),
                                 first_at(run, "val/acc", 0.99))
        verdict = detection(run)["verdict"]
        figures[name] = {"train99": train99, "val99": val99, "verdict": verdict}
        conditions += [status_ok(run, name),
                       (train99 is not None and val95 is not None, f"{name}: train acc 0.99 at step {fmt(train99)}, "
                        f"val acc 0.95 at {fmt(val95)}, 0.99 at {fmt(val99)}"),
                       (verdict in ("grokking", "comprehension"), f"{name}: {verdict}")]
    return conclude("GPT-2, ResFormer, SVFormer, GPT-2 meta and BitLinear each fit x+y mod 31 and generalise",
                    conditions, figures, not_asserted=[f"{name}: not run" for name in MODELS if name not in runs],
                    headline=[Headline(f"{name}: steps to val acc 0.99", DOCS.get(name, "no published figure"),
                                       f["val99"], note="docs/models.md, seed 0") for name, f in figures.items()])


# Steps to val acc 0.99 at seed 0 measured for docs/models.md (the re-implementation published no figure).
DOCS = {"gpt2": 600, "resformer": 650, "svformer": 600, "meta": 750, "bitlinear": 550}


def binding_check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """Variable binding is learnt: val acc reaches 0.95 and ends >= 0.95."""
    need(runs, "run")
    run = runs["run"]
    val95, final = first_at(run, "val/acc", 0.95), last(run, "val/acc")
    return conclude("variable binding learnt: val acc >= 0.95 on held-out programs",
                    [status_ok(run, "run"), (val95 is not None, f"val acc 0.95 at step {fmt(val95)}"),
                     ((final or 0) >= 0.95, f"final val acc {fmt(final)}")],
                    {"val95": val95, "final_val_acc": final},
                    headline=[Headline("final val acc", "no published figure", final)])

SOURCE = ("ndtippens/grok-tests, a Hydra re-implementation of Power et al. 2022 (arXiv 2201.02177); models: Zhou et "
          "al. 2024 ResFormer/SVFormer (arXiv 2410.17897), Ma et al. 2024 BitNet b1.58 (arXiv 2402.17764)")

PRESET = Preset(
    name="hydra_gpt2",
    paper=SOURCE,
    reproduces="no published figure: the GPT-2 / ResFormer / SVFormer / GPT-2 meta / BitLinear comparison of "
               "docs/models.md (steps to val acc 0.99 on x+y mod 31)",
    config=RunConfig(
        name="hydra_gpt2",
        task=ModularConfig(op="x+y", p=31, train_frac=0.5),
        model=GPT2Config(name="gpt2_transformer", n_layers=2, d_model=64, n_heads=4, d_mlp=256, act="gelu"),
        optim=AdamConfig(name="adamw", lr=3e-3, weight_decay=3.0),
        train=TrainConfig(steps=1_000, batch_size="full", eval_every=50),
    ),
    arms={"ci": tuple(Arm(name, FAST | model) for name, model in MODELS.items()),
          "paper": tuple(Arm(name, model) for name, model in MODELS.items())},
    check=models_check,
    measured_at={"ci": "x+y mod 31, 50% of pairs, 2 layers d64, full-batch AdamW 3e-3, wd 3, 1,000 steps",
                 "paper": "as CI (the re-implementation has no larger published setting)"},
)

BINDING = Preset(
    name="variable_binding",
    paper=SOURCE,
    reproduces="variable binding learnt: val acc >= 0.99 on held-out two-hop programs (step 1,900 with seed 0; "
               "docs/models.md)",
    config=RunConfig(
        name="variable_binding",
        task=BindingConfig(n_vars=6, n_values=10, chain=2, distractors=2, n_examples=20_000, train_frac=0.9),
        model=GPT2Config(name="gpt2_transformer", n_layers=3, d_model=64, n_heads=4, d_mlp=256, act="gelu"),
        optim=AdamConfig(name="adamw", lr=3e-3, weight_decay=0.1),
        train=TrainConfig(steps=3_000, batch_size="256", eval_every=100),
    ),
    arms={"ci": (Arm("run", ONE_HOP),), "paper": (Arm("run"),)},
    check=binding_check,
    measured_at={"ci": "the one-hop task (3 distractors, 10,000 programs), 2 layers, 600 steps",
                 "paper": "two-hop chains, 3 layers, 3,000 steps"},
)

register(PRESET, BINDING)
