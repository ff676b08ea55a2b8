"""How the cost of a step scales with the work (issue 18, target 4): steps/s of groklab's loop and of the plain
PyTorch loop of bench_single.py, side by side in one process, against d_model, batch size and p.

    python benchmarks/bench_scaling.py [--steps 150] [--device cpu]

Each point trains `--steps` steps of the power2022 recipe (x/y mod p, 2-layer post-LN transformer, AdamW) with
one override changed; both loops evaluate every 100 steps as they would in a run (groklab: its dense early
schedule; plain: every 100 steps). Interleaved, best of two.
"""

from __future__ import annotations

import argparse

import torch
from bench_single import groklab_loop, plain_loop

AXES = {"model.d_model": ["64", "128", "256", "512"], "train.batch_size": ["64", "128", "256", "512", "full"],
        "task.p": ["23", "47", "97", "211"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    plain_loop(10, device), groklab_loop(10, device, {})  # warm-up
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, {args.steps} steps")
    print(f"{'setting':<24}{'groklab steps/s':>16}{'plain steps/s':>15}{'ratio':>8}")
    for key, values in AXES.items():
        for value in values:
            over = {key: value} | ({"model.d_mlp": str(4 * int(value))} if key == "model.d_model" else {})
            g = max(groklab_loop(args.steps, device, over) for _ in range(2))
            p = max(plain_loop(args.steps, device, over) for _ in range(2))
            print(f"{key}={value:<{23 - len(key)}}{g:>16.1f}{p:>15.1f}{g / p:>8.2f}")


if __name__ == "__main__":
    main()
