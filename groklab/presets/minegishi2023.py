"""Minegishi, Iwasawa, Matsuo 2023, "Grokking Tickets: Lottery Tickets Accelerate Grokking" (arXiv 2310.19470);
papers.md §10.

The dense base run of `gouki510/Grokking-Tickets` (config/config.py @790d402): (a + b) mod 67, 40% of the pairs
for training, the bias-free "OnlyMLP" (embedding 500 → hidden 48, the two operands summed, ReLU, → 500 → 67;
`tickets_mlp`, d_model = embedding width, d_mlp = hidden width), full-batch AdamW lr 1e-3, betas (0.9, 0.98),
no warm-up, wd 1, 50k epochs. The ticket pipeline (`groklab tickets`, groklab.tickets) then prunes the grokked
net globally by magnitude (keep 40%), resets the survivors to their initial values and retrains with the mask and
no weight decay (30k epochs), against dense, random-mask and norm-matched controls.
Like the reference, only the unordered pairs a <= b are split (`task.pairs=unordered`, 2,278 pairs at p 67), so no
validation pair is a training pair read backwards. Measured (this preset, dense): train acc 0.99 at step 140, val
acc 0.95 at 17,600, 0.98 at 20,000.
"""

from collections.abc import Mapping
from typing import Any

from groklab.config import ModelConfig, OptimConfig, RunConfig, TaskConfig, TrainConfig
from groklab.presets.base import Arm, Check, Preset, Study, conclude
from groklab.presets.evidence import first_at, fmt, need
from groklab.runs import Run

# CI scale (tests/presets_b/test_tickets.py): (a + b) mod 47, 40% of the pairs, AdamW lr 3e-3, wd 1: the dense
# net passes val acc 0.95 at step 1150; pruned to 40% after 2,000 steps and retrained without weight decay for
# 400 steps, the ticket passes 0.95 at step 100 while random mask, dense retrained and norm-matched stay at 0.41.
# Deviation: all ordered pairs (at p 47 the unordered split does not grok within 3,000 steps).
CI = {"task.p": 47, "task.pairs": "all", "optim.lr": 3e-3, "train.steps": 2000, "train.eval_every": 50,
      "train.log_checkpoints": 5, "train.checkpoint_every": 2000, "train.device": "cpu"}
ARMS = ("dense", "ticket", "random_mask", "dense_retrain", "norm_matched")


def check(runs: Mapping[str, Run], study: Mapping[str, Any] | None = None) -> Check:
    """Fig. 1 on the runs of `groklab tickets` (named by its arms): the magnitude ticket, reset to its initial
    values and retrained without weight decay, reaches val acc 0.95 before the dense net and the random mask."""
    need(runs, *ARMS)
    steps = {arm: first_at(runs[arm], "val/acc", 0.95) for arm in ARMS}
    ticket, dense, rand = steps["ticket"], steps["dense"], steps["random_mask"]
    ticket_cfg = runs["ticket"].config
    return conclude(
        "the grokked ticket (pruned by magnitude, reset to init, wd 0) reaches val acc 0.95 sooner than the dense "
        "net and the random-mask control",
        [(dense is not None, f"dense: val acc 0.95 at step {fmt(dense)}"),
         (ticket is not None, f"ticket: at step {fmt(ticket)}"),
         (ticket is not None and dense is not None and ticket < dense, f"speed-up over dense "
          f"{fmt(dense / ticket if ticket and dense else None)}x"),
         (ticket is not None and (rand is None or ticket < rand), f"random mask: at step {fmt(rand)}"),
         (ticket_cfg["optim"]["weight_decay"] == 0.0, f"ticket weight decay {ticket_cfg['optim']['weight_decay']}"),
         (str(ticket_cfg["train"]["mask_from"]).endswith("mask_magnitude.pt"), "ticket mask: global magnitude")],
        {f"{arm}_val95": s for arm, s in steps.items()} | {"speedup": dense / ticket if ticket and dense else None},
        not_asserted=NOT_ASSERTED)


# Until the check is made faithful (issue 23), what the paper claims and this check does not assert.
NOT_ASSERTED = ("the CI arm splits ordered pairs, so ~41% of validation pairs are training pairs read backwards",
                "the norm-matched and dense-retrain controls are trained but not compared", "the speed-up has no "
                "margin (one evaluation passes)")

PRESET = Preset(
    name="minegishi2023",
    paper="Minegishi et al. 2023, Grokking Tickets: Lottery tickets accelerate grokking (arXiv 2310.19470)",
    reproduces="Fig. 1: the grokked ticket (60% pruned by magnitude, reset to init, wd 0) reaches test acc 0.95 "
    "much sooner than the dense net and than random or norm-matched controls",
    config=RunConfig(
        name="minegishi2023",
        task=TaskConfig(op="x+y", p=67, train_frac=0.4, layout="a_b_eq", pairs="unordered"),
        model=ModelConfig(name="tickets_mlp", d_model=500, d_mlp=48, n_layers=1, n_heads=1),
        optim=OptimConfig(name="adamw", lr=1e-3, weight_decay=1.0, beta1=0.9, beta2=0.98, warmup_steps=0),
        train=TrainConfig(steps=50_000, batch_size="full", eval_every=100, checkpoint_every=5_000,
                          log_checkpoints=30),
    ),
    arms={"ci": (Arm("dense", CI),), "paper": (Arm("dense"),)},
    check=check,
    study=Study("tickets", "dense", {"ci": {"keep": 0.4, "retrain_steps": 400},
                                    "paper": {"keep": 0.4, "retrain_steps": 30_000}}),
)
