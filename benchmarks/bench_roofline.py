"""The default run's roofline on this CPU (issue 29 §4): counted FLOPs per step, the measured GEMM peak for the
step's own GEMM shapes, and how close a whole step gets to it; groklab's step and the plain loop's side by side.

    python benchmarks/bench_roofline.py [--steps 100] [--repeats 50]

For each loop (bench_single.py's plain loop, and groklab's training step of `groklab run`):
1. every matrix product of one training step is recorded (aten.mm/addmm/bmm with its operands' shapes and
   strides) and its FLOPs counted (torch.utils.flop_counter);
2. each distinct product is timed alone, `--repeats` times after a warm-up, on operands of the same shapes and
   strides, at the process's thread count: the sum over the step's products is the **GEMM floor**, the time a
   step would take if it did nothing but its products at the speed this machine reaches for those shapes;
3. `--steps` steps are timed (no evaluation in between).
Printed: GFLOP per step, GEMM floor (ms and GFLOP/s), step (ms and GFLOP/s), and floor / step: the fraction of
the measured GEMM peak the whole step reaches (issue 29's goal: >= 80 %). Run it on a quiet machine; it prints
the load average it started and ended at.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Callable

import torch
from bench_single import PlainTransformer
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from groklab.api import resolve
from groklab.engine.loop import Single
from groklab.tasks import build_task

PRODUCTS = {torch.ops.aten.mm.default, torch.ops.aten.addmm.default, torch.ops.aten.bmm.default}


class Products(TorchDispatchMode):
    """Records (op, shapes, strides) of every matrix product dispatched while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[tuple] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if func in PRODUCTS:
            self.calls[(func, tuple((tuple(a.shape), a.stride()) for a in args if isinstance(a, torch.Tensor)))] += 1
        return func(*args, **(kwargs or {}))


def time_product(func, operands: tuple, repeats: int) -> float:  # type: ignore[no-untyped-def]
    """Seconds per call of one product on fresh operands of the recorded shapes and strides."""
    tensors = [torch.empty_strided(shape, stride).normal_() for shape, stride in operands]
    for _ in range(5):
        func(*tensors)
    start = time.perf_counter()
    for _ in range(repeats):
        func(*tensors)
    return (time.perf_counter() - start) / repeats


def roofline(name: str, step: Callable[[int], None], steps: int, repeats: int) -> None:
    for i in range(10):  # warm-up: allocator, lazy imports, oneDNN primitives
        step(i)
    with Products() as products, FlopCounterMode(display=False) as counter:
        step(10)
    flop = counter.get_total_flops()
    floor = sum(n * time_product(func, ops, repeats) for (func, ops), n in products.calls.items())
    start = time.perf_counter()
    for i in range(11, 11 + steps):
        step(i)
    per_step = (time.perf_counter() - start) / steps
    print(f"{name:<9}{flop / 1e9:>11.3f}{sum(products.calls.values()):>10}{floor * 1e3:>10.1f}"
          f"{flop / floor / 1e9:>10.1f}{per_step * 1e3:>10.1f}{flop / per_step / 1e9:>10.1f}"
          f"{floor / per_step:>10.0%}", flush=True)


def plain_step() -> Callable[[int], None]:
    """One step of bench_single.py's plain loop (its model, AdamW; the DataLoader's batch drawn here)."""
    cfg = resolve("power2022", {})
    task = build_task(cfg.task)
    model = PlainTransformer(task.vocab_size, task.n_classes, d=cfg.model.d_model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0)
    batch = cfg.train.resolved_batch_size(task.n_train)

    def step(i: int) -> None:
        idx = torch.randint(0, task.n_train, (batch,))
        loss = torch.nn.functional.cross_entropy(model(task.x_train[idx]), task.y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def groklab_step() -> Callable[[int], None]:
    cfg = resolve("power2022", {"train.stop_when": ""})
    trainer = Single(cfg, build_task(cfg.task), torch.device("cpu"), None)
    return trainer.train_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    print(f"power2022 default recipe (batch 512), torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    print(f"{'loop':<9}{'GFLOP/step':>11}{'products':>10}{'floor ms':>10}{'GFLOP/s':>10}{'step ms':>10}"
          f"{'GFLOP/s':>10}{'of peak':>10}")
    roofline("plain", plain_step(), args.steps, args.repeats)
    roofline("groklab", groklab_step(), args.steps, args.repeats)
    print(f"(floor: the step's products alone at their measured speed; load average {os.getloadavg()[0]:.1f} at end)")


if __name__ == "__main__":
    main()
