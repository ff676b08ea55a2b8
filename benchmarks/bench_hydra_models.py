"""Steps to train and validation accuracy 0.99 of the GPT-2 family at one recipe (the `hydra_gpt2` preset):
GPT-2, ResFormer, SVFormer, GPT-2 with memory tokens and a BitLinear GPT-2, over a few init seeds.

Each run stops at its first evaluation with val acc >= 0.99 (or at the preset's 1,000 steps); evaluations are
every 50 steps after a dense early schedule, so crossings are known to that grain. Prints a Markdown table.

    OMP_NUM_THREADS=1 python benchmarks/bench_hydra_models.py [--seeds 0 1 2] [--models gpt2 resformer ...]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics

import torch
from bench_time_to_val99 import Generalized, Watch  # this folder's first-crossing Sink

from groklab.api import resolve
from groklab.engine import train_one

VARIANTS = {
    "gpt2": {"model.name": "gpt2_transformer"},
    "resformer": {"model.name": "gpt2_resformer"},
    "resformer_learnable": {"model.name": "gpt2_resformer", "model.value_mix": "learnable"},
    "svformer": {"model.name": "gpt2_svformer"},
    "meta": {"model.name": "gpt2_meta"},
    "meta_rotary": {"model.name": "gpt2_meta", "model.pos": "rotary"},
    "bitlinear": {"model.name": "gpt2_transformer", "model.linear": "bitlinear"},
}


def measure(variant: str, seed: int) -> dict[str, int]:
    cfg = resolve("hydra_gpt2", {**VARIANTS[variant], "seed": seed, "train.device": "cpu",
                                 "train.log_checkpoints": 0})
    watch = Watch(0.99)
    with contextlib.suppress(Generalized):
        train_one(cfg, watch)
    return {key: step for key, (step, _) in watch.first.items()}


def cell(steps: list[int | None]) -> str:
    shown = ", ".join("–" if s is None else str(s) for s in steps)
    reached = [s for s in steps if s is not None]
    median = statistics.median(reached) if len(reached) == len(steps) else None
    return f"{shown} (median {median:g})" if median is not None else f"{shown}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| model | train acc 0.99 at step (seeds " + ", ".join(map(str, args.seeds)) + ") | val acc 0.99 at step |")
    print("|---|---|---|")
    for variant in args.models:
        runs = [measure(variant, seed) for seed in args.seeds]
        train = cell([r.get("train/acc") for r in runs])
        val = cell([r.get("val/acc") for r in runs])
        print(f"| {variant} | {train} | {val} |", flush=True)


if __name__ == "__main__":
    main()
