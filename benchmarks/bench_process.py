"""Whole processes, as a user waits for them (issue 18): groklab against a plain PyTorch loop, one command.

    python benchmarks/bench_process.py single [--steps 800,4000] [--pairs 3]
    python benchmarks/bench_process.py sweep [--members 8,64] [--steps 800] [--workers 1,2,4]
    python benchmarks/bench_process.py default

`single`: `groklab run power2022 train.steps=N` (groklab's evaluation schedule as shipped) against the plain loop of
bench_single.py run as its own process (`python benchmarks/bench_single.py --plain-only`: nn.MultiheadAttention,
a shuffling DataLoader, AdamW with a LambdaLR warm-up, `.item()` evaluations of both splits every 100 steps),
interleaved A B A B, median of `--pairs` pairs. `sweep`: `groklab sweep power2022` of M members (a weight-decay x
seed grid) against the same M members trained one after another by `groklab run` processes; with `--workers`,
the sweep once per worker count (`groklab sweep --workers N`: the scaling with cores), else the layout it chooses.
`default`: the wall time of `groklab run` (power2022 at its default steps). Every process gets the machine's
default thread count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={k: v for k, v in os.environ.items()
                                                                    if k != "OMP_NUM_THREADS"})
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def groklab(*args: str) -> list[str]:
    return [sys.executable, "-m", "groklab.cli", *args, "--quiet"]


def single(steps: int, pairs: int) -> None:
    plain, ours = [], []
    for _ in range(pairs):
        with tempfile.TemporaryDirectory() as out:
            plain.append(timed([sys.executable, str(HERE / "bench_single.py"), "--plain-only", "--steps", str(steps)]))
            ours.append(timed(groklab("run", "power2022", f"train.steps={steps}", "train.stop_when=",  # every step
                                      "train.device=cpu", "--out", out)))
    p, g = statistics.median(plain), statistics.median(ours)
    print(f"single run, power2022 recipe, {steps} steps: plain loop {p:6.1f} s ({steps / p:5.1f} steps/s), "
          f"groklab run {g:6.1f} s ({steps / g:5.1f} steps/s): ratio {p / g:.2f}x   (median of {pairs} pairs)")


def sweep(members: int, steps: int, workers: list[str]) -> None:
    seeds = members // 2
    grid = ["optim.weight_decay=0.3,1", f"seed=range(0,{seeds})", f"train.steps={steps}", "train.stop_when=",
            "train.device=cpu"]
    together = {}
    for w in workers:
        with tempfile.TemporaryDirectory() as out:
            together[w] = timed(groklab("sweep", "power2022", *grid, "--out", out, *(["--workers", w] if w else [])))
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        for wd in ("0.3", "1"):
            for seed in range(seeds):
                timed(groklab("run", "power2022", f"optim.weight_decay={wd}", f"seed={seed}", f"train.steps={steps}",
                              "train.stop_when=", "train.device=cpu", "--out", out))
        apart = time.perf_counter() - start
    for w, wall in together.items():
        print(f"sweep of {members} members x {steps} steps: groklab sweep {'--workers ' + w if w else '(its layout)'}"
              f" {wall:7.1f} s, one groklab run after another {apart:7.1f} s: ratio {apart / wall:.2f}x")


def default() -> None:
    with tempfile.TemporaryDirectory() as out:
        wall = timed(groklab("run", "--out", out))
    print(f"default `groklab run` (power2022, its default steps): {wall:.1f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("single", "sweep", "default"))
    parser.add_argument("--steps", default="800,4000", help="single: comma-separated step counts; sweep: one")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--members", default="8,64")
    parser.add_argument("--workers", default="", help="sweep: comma-separated worker counts (default: its choice)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads by default, "
          f"{time.strftime('%Y-%m-%d')}")
    if args.what == "single":
        for steps in map(int, args.steps.split(",")):
            single(steps, args.pairs)
    elif args.what == "sweep":
        for m in map(int, args.members.split(",")):
            sweep(m, int(args.steps.split(",")[0]), args.workers.split(","))
    else:
        default()


if __name__ == "__main__":
    main()
