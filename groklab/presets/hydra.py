"""The features of the Hydra re-implementation of Power et al. 2022 (`ndtippens/grok-tests`; issue 16), as presets.

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

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Preset

SOURCE = ("ndtippens/grok-tests, a Hydra re-implementation of Power et al. 2022 (arXiv 2201.02177); models: Zhou et "
          "al. 2024 ResFormer/SVFormer (arXiv 2410.17897), Ma et al. 2024 BitNet b1.58 (arXiv 2402.17764)")

PRESET = Preset(
    name="hydra_gpt2",
    paper=SOURCE,
    reproduces="no published figure: the GPT-2 / ResFormer / SVFormer / GPT-2 meta / BitLinear comparison of "
               "docs/models.md (steps to val acc 0.99 on x+y mod 31)",
    config=RunConfig(
        name="hydra_gpt2",
        task=TaskConfig(op="x+y", p=31, train_frac=0.5),
        model=ModelConfig(name="gpt2_transformer", n_layers=2, d_model=64, n_heads=4, d_mlp=256, act="gelu"),
        optim=OptimConfig(name="adamw", lr=3e-3, weight_decay=3.0),
        train=TrainConfig(steps=1_000, batch_size="full", eval_every=50),
    ),
)

BINDING = Preset(
    name="variable_binding",
    paper=SOURCE,
    reproduces="variable binding learnt: val acc >= 0.99 on held-out two-hop programs (step 1,900 with seed 0; "
               "docs/models.md)",
    config=RunConfig(
        name="variable_binding",
        task=TaskConfig(name="variable_binding", n_vars=6, n_values=10, chain=2, distractors=2, n_examples=20_000,
                        train_frac=0.9),
        model=ModelConfig(name="gpt2_transformer", n_layers=3, d_model=64, n_heads=4, d_mlp=256, act="gelu"),
        optim=OptimConfig(name="adamw", lr=3e-3, weight_decay=0.1),
        train=TrainConfig(steps=3_000, batch_size="256", eval_every=100),
    ),
)
