"""Exact m-height labels per second: the batched vertex method per core and end to end, against the per-code methods.

Usage: python benchmarks/bench_mheight_labels.py [--quick] [--groups all] [--dist uniform|integer]
                                                  [--per-group 3000] [--workers 2] [--device cpu]
Prints Markdown. Part 1, per course group on one core (CPU seconds of this process, BLAS pinned to one thread, so
"per core" holds even on a busy machine): the batched vertex method (groklab.mheight.vertex) against the two
per-code methods it is checked against, the exact rational vertex enumeration (``method="exact"``) and Roth's
LPs on HiGHS (``method="lp"``), timed on the first few of the same matrices, with the largest relative
difference. Part 2, end to end: one whole ``generate_dataset`` call (sampling, labelling in ``--workers``
processes, chunk files, assembly, final file) and one whole ``groklab mheight generate`` process (interpreter
start and imports included), both wall-clock, on ``--per-group`` rows of every group (the issue's reference
run is ``--per-group 3000``: 63,000 labels). Wall-clock figures need an idle machine; the CPU seconds printed
next to them (this process and its children: the worker processes, the CLI process) do not.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core; must precede the numpy import

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from groklab.mheight import GenerateSpec, generate_dataset, heights, parse_groups  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def sample(n: int, k: int, count: int, dist: str, rng: np.random.Generator) -> np.ndarray:
    if dist == "integer":
        return rng.integers(-100, 100, size=(count, k, n - k), endpoint=True).astype(float)
    return rng.uniform(-100, 100, size=(count, k, n - k))


def cpu_timed(P: np.ndarray, m: int, method: str) -> tuple[np.ndarray, float]:
    """Heights and the CPU seconds (user + system) they took."""
    start = time.process_time()
    h = heights(P, m, method=method)
    return h, time.process_time() - start


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    if not np.array_equal(np.isinf(a), np.isinf(b)):
        return float("inf")
    fin = np.isfinite(a)
    return float(np.max(np.abs(a[fin] - b[fin]) / b[fin], initial=0.0))


def per_group(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    print(f"## Per core: batched vertex method vs the per-code methods ({args.vertex_samples} vertex, "
          f"{args.exact_samples} exact, {args.lp_samples} LP matrices per group)\n")
    print("| group | vertex labels/s | exact labels/s | LP labels/s | vertex / exact | vertex / LP | max rel diff "
          "(exact, LP) | inf |")
    print("|---|---|---|---|---|---|---|---|")
    warm = sample(6, 3, 2, args.dist, rng)
    heights(warm, 2), heights(warm[:1], 2, method="lp")  # lookup tables, SciPy import: outside the timings
    totals = {"vertex": [0.0, 0], "exact": [0.0, 0], "lp": [0.0, 0]}
    for n, k, m in parse_groups(args.groups):
        P = sample(n, k, args.vertex_samples, args.dist, rng)
        heights(P[:2], m)  # this (n, k, m)'s tables
        hv, cpu_v = cpu_timed(P, m, "vertex")
        totals["vertex"][0] += cpu_v
        totals["vertex"][1] += len(P)
        cols, diffs = [], []
        for method, count in (("exact", args.exact_samples), ("lp", args.lp_samples)):
            if not count:
                cols.append("-")
                continue
            h, cpu = cpu_timed(P[:count], m, method)
            totals[method][0] += cpu
            totals[method][1] += count
            cols.append(f"{count / cpu:,.2f}")
            diffs.append(f"{rel_diff(hv[:count], h):.1e}")
        rate = len(P) / cpu_v
        ratios = [f"{rate / float(c.replace(',', '')):,.0f}x" if c != "-" else "-" for c in cols]
        print(f"| ({n},{k},{m}) | {rate:,.0f} | {cols[0]} | {cols[1]} | {ratios[0]} | {ratios[1]} | "
              f"{', '.join(diffs) or '-'} | {int(np.isinf(hv).sum())}/{len(P)} |", flush=True)
    print()
    for name, (cpu_s, count) in totals.items():
        if count:
            print(f"- {name}: {count:,} labels in {cpu_s:.2f} CPU s = **{count / cpu_s:,.1f} labels/s per core**")


def end_to_end(args: argparse.Namespace) -> None:
    groups = parse_groups(args.groups)
    spec = GenerateSpec(groups=groups, per_group=args.per_group, dist=args.dist, seed=args.seed)
    total = len(groups) * args.per_group
    print(f"\n## End to end: {len(groups)} groups x {args.per_group:,} = {total:,} labels, {args.workers} workers, "
          f"device {args.device}\n")
    print("| what | wall s | labels/s | CPU s (all processes) |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        best = min(_timed(lambda i=i: generate_dataset(Path(tmp) / f"call{i}.npz", spec, workers=args.workers,
                                                       progress=False, device=args.device))
                   for i in range(args.repeats))
        print(f"| `generate_dataset(...)` call (best of {args.repeats}) | {best[0]:.2f} | **{total / best[0]:,.0f}** | "
              f"{best[1]:.2f} |", flush=True)
        cmd = [sys.executable, "-m", "groklab.cli", "mheight", "generate", "--groups", args.groups, "--per-group",
               str(args.per_group), "--dist", args.dist, "--seed", str(args.seed), "--workers", str(args.workers),
               "--device", args.device, "--quiet"]
        best = min(_timed(lambda i=i: subprocess.run([*cmd, "--out", str(Path(tmp) / f"cli{i}.npz")], check=True,
                                                     cwd=ROOT, stdout=subprocess.DEVNULL))
                   for i in range(args.repeats))
        print(f"| `{' '.join(cmd[1:])} --out F` process (best of {args.repeats}) | {best[0]:.2f} | "
              f"**{total / best[0]:,.0f}** | {best[1]:.2f} |")


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn) -> tuple[float, float]:
    """(wall s, CPU s of this process and its finished children) of fn()."""
    wall, cpu = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - wall, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 vertex / 2 exact / 1 LP matrix per group")
    parser.add_argument("--groups", default="all")
    parser.add_argument("--dist", choices=("uniform", "integer"), default="uniform")
    parser.add_argument("--vertex-samples", type=int, default=None)
    parser.add_argument("--exact-samples", type=int, default=None)
    parser.add_argument("--lp-samples", type=int, default=None)
    parser.add_argument("--per-group", type=int, default=3000, help="rows per group of the end-to-end runs")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--device", default="cpu", help="cpu | auto | cuda (end-to-end runs)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-per-group", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.vertex_samples = args.vertex_samples or (500 if args.quick else 3000)
    args.exact_samples = args.exact_samples if args.exact_samples is not None else (2 if args.quick else 5)
    args.lp_samples = args.lp_samples if args.lp_samples is not None else (1 if args.quick else 3)
    cpu = platform.processor() or platform.machine()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# Exact m-height labels, {time.strftime('%Y-%m-%d %H:%M')}, {cpu}, {os.cpu_count()} cpus, numpy "
          f"{np.__version__}, P {args.dist} in [-100, 100], load average {load:.1f} at start\n")
    if not args.skip_per_group:
        per_group(args)
    end_to_end(args)


if __name__ == "__main__":
    main()
