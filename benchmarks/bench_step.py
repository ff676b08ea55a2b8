"""Steady-state cost of one vectorised step of M power2022 members, with and without CUDA graphs.

    python benchmarks/bench_step.py [--device cuda] [--members 1,8,64] [--set train.tf32=true]

Each configuration trains twice from the synthetic checkpoint of bench_many.py, for 100 and for 400 steps; the
difference over 300 steps is the per-step time without the fixed costs (model set-up, warm-up, capture, the
final evaluation), which are printed beside it. Not meant for train.compile (each call compiles afresh).
"""

from __future__ import annotations

import argparse
import time

import torch
from bench_many import Resume, checkpoint, members

from groklab.config import apply_overrides, parse_overrides
from groklab.engine import train_many


def run(m: int, steps: int, device: str, extra: dict[str, str]) -> float:
    cfgs = [apply_overrides(c, extra) for c in members(m, steps, device)]
    states = [checkpoint(c) for c in cfgs]
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    train_many(cfgs, [Resume(s) for s in states])
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--members", default="1,8,64")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    args = parser.parse_args()
    extra = parse_overrides(args.set)
    graphs = [True, False] if args.device == "cuda" else [False]
    print(f"{'overrides':<28}{'graphs':>7}{'M':>5}{'ms/step':>10}{'run-steps/s':>13}{'fixed s':>9}")
    for graph in graphs:
        for m in (int(v) for v in args.members.split(",")):
            cfg = extra | {"train.cuda_graphs": str(graph)}
            run(m, 5, args.device, cfg)  # warm-up: kernels, allocator
            short, long = run(m, 100, args.device, cfg), run(m, 400, args.device, cfg)
            ms = (long - short) / 300 * 1e3
            print(f"{' '.join(args.set) or '-':<28}{graph!s:>7}{m:>5}{ms:>10.3f}{m / ms * 1e3:>13.0f}"
                  f"{short - 100 * ms / 1e3:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
