"""Where a power2022 run's CPU time goes (issue 18): groklab's loop and the plain loop, profiled side by side.

    python benchmarks/profile_cpu.py [--steps 200] [--rows 12]

Both loops of bench_single.py train `--steps` steps under torch.profiler (CPU activity, FLOPs counted). Printed
for each: wall seconds, the share of CPU time in the matrix products (mm, bmm, addmm, linear's and attention's
products), in the optimizer, and in everything else (elementwise, LayerNorm, softmax, embedding, Python between
ops), the counted GFLOP per step and the GFLOP/s the products reach; then a dense float32 matmul of the same
inner sizes as the machine's ceiling. The products take the same FLOPs in both loops, so a ratio r against the
plain loop needs the plain loop to spend at least 1 - 1/r of its time outside them (r = 2: half).
"""

from __future__ import annotations

import argparse
import time

import torch
from bench_single import groklab_loop, plain_loop
from torch.profiler import ProfilerActivity, profile

PRODUCTS = ("aten::mm", "aten::bmm", "aten::addmm", "aten::baddbmm",
            "aten::_scaled_dot_product_flash_attention_for_cpu")
OPTIMIZER = "Optimizer.step"  # torch.optim's record_function around step(): its CPU total is the update's time


def shares(prof: profile, steps: int, wall: float) -> dict[str, float]:
    """Self CPU seconds by kind, and the products' counted FLOPs."""
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events) / 1e6
    products = sum(e.self_cpu_time_total for e in events if e.key in PRODUCTS) / 1e6
    optimizer = sum(e.cpu_time_total for e in events if e.key.startswith(OPTIMIZER)) / 1e6
    flops = sum(e.flops for e in events if e.key in PRODUCTS)
    return {"wall": wall, "cpu": total, "products": products, "optimizer": optimizer,
            "gflop_per_step": flops / steps / 1e9, "product_gflops": flops / max(products, 1e-9) / 1e9}


def profiled(name: str, run, steps: int, rows: int) -> dict[str, float]:
    run(20)  # warm-up: allocator, lazy imports, oneDNN primitives
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        start = time.perf_counter()
        run(steps)
        wall = time.perf_counter() - start
    print(f"--- {name}: top ops by self CPU time")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=48))
    return shares(prof, steps, wall)


def ceiling(m: int = 2048, k: int = 128, n: int = 512, repeats: int = 200) -> float:
    """GFLOP/s of a float32 [m, k] @ [k, n] product: the power2022 MLP's shape (512 rows x 4 tokens, d 128)."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(10):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * m * k * n * repeats / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rows", type=int, default=12)
    args = parser.parse_args()
    cpu = torch.device("cpu")
    figures = {
        "plain": profiled("plain loop", lambda s: plain_loop(s, cpu), args.steps, args.rows),
        "groklab": profiled("groklab", lambda s: groklab_loop(s, cpu, {}), args.steps, args.rows),
    }
    print(f"power2022 recipe, {args.steps} steps, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"float32 matmul ceiling [2048x128]@[128x512]: {ceiling():.1f} GFLOP/s")
    print(f"{'loop':<9}{'wall s':>8}{'ms/step':>9}{'products':>10}{'optimizer':>11}{'other':>8}"
          f"{'GFLOP/step':>12}{'products GFLOP/s':>18}")
    for name, f in figures.items():
        other = f["cpu"] - f["products"] - f["optimizer"]
        print(f"{name:<9}{f['wall']:>8.1f}{f['wall'] / args.steps * 1e3:>9.1f}{f['products'] / f['cpu']:>10.0%}"
              f"{f['optimizer'] / f['cpu']:>11.0%}{other / f['cpu']:>8.0%}{f['gflop_per_step']:>12.2f}"
              f"{f['product_gflops']:>18.1f}")
    print("(shares of self CPU time, all threads; groklab's figure includes its dense early evaluations)")


if __name__ == "__main__":
    main()
